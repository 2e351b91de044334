/**
 * Codecs of the partition messages: table updates, migrations and forwarded operations.
 * Field order is the wire order and never changes.
 */
import type {
  FetchPartitionTable,
  MergedTable,
  MigrateCancel,
  MigrateData,
  MigrateFinalize,
  MigrateQuery,
  MigrateReady,
  MigrateStatus,
  MigrateStart,
  OpForward,
  PartitionTableUpdate,
} from './messages.js';
import {
  COMPLETED_MIGRATIONS_MAX,
  MAX_FORWARD_HOPS,
  MIGRATION_ID_BYTES_MAX,
  OP_ID_BYTES_MAX,
  PAYLOAD_BYTES_MAX,
  REASON_BYTES_MAX,
  SERVICE_NAME_BYTES_MAX,
} from './limits.js';
import { MIGRATE_DATA_KIND_CODES, MIGRATION_VERDICT_CODES, REPLICA_ROLE_CODES } from './type-codes.js';
import type { MessageLayout } from './message-layout.js';
import { enumToWire, readTable, tableToWire } from './wire-records.js';
import {
  nested,
  readArray,
  readBool,
  readBytes,
  readEnum,
  readNodeId,
  readString,
  readUint,
  readUint32,
} from './validate.js';

function readMigrationId(v: unknown, path = ''): string {
  return readString(v, path, MIGRATION_ID_BYTES_MAX, 1);
}

/** `[table, completedMigrations[]]`, table `[version, partitionCount, assignments[]]` */
export const partitionTableUpdateCodec: MessageLayout<PartitionTableUpdate> = {
  arity: 2,
  toWire: (m) => [tableToWire(m.table), m.completedMigrations],
  fromWire: (_ctx, f) => ({
    type: 'PartitionTableUpdate',
    table: nested('table', readTable, f[0]),
    completedMigrations: readArray(f[1], 'completedMigrations', COMPLETED_MIGRATIONS_MAX, readMigrationId),
  }),
};

/** `[from, knownVersion]` */
export const fetchPartitionTableCodec: MessageLayout<FetchPartitionTable> = {
  arity: 2,
  toWire: (m) => [m.from, m.knownVersion],
  fromWire: (_ctx, f) => ({
    type: 'FetchPartitionTable',
    from: readNodeId(f[0], 'from'),
    knownVersion: readUint(f[1], 'knownVersion'),
  }),
};

/** `[from, table]` */
export const mergedTableCodec: MessageLayout<MergedTable> = {
  arity: 2,
  toWire: (m) => [m.from, tableToWire(m.table)],
  fromWire: (_ctx, f) => ({
    type: 'MergedTable',
    from: readNodeId(f[0], 'from'),
    table: nested('table', readTable, f[1]),
  }),
};

/** `[migrationId, partition, source, destination, role, epoch, tableVersion]` */
export const migrateStartCodec: MessageLayout<MigrateStart> = {
  arity: 7,
  toWire: (m) => [
    m.migrationId,
    m.partition,
    m.source,
    m.destination,
    enumToWire(m.role, REPLICA_ROLE_CODES),
    m.epoch,
    m.tableVersion,
  ],
  fromWire: (_ctx, f) => ({
    type: 'MigrateStart',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    source: readNodeId(f[2], 'source'),
    destination: readNodeId(f[3], 'destination'),
    role: readEnum(f[4], 'role', REPLICA_ROLE_CODES),
    epoch: readUint(f[5], 'epoch'),
    tableVersion: readUint(f[6], 'tableVersion'),
  }),
};

/** `[migrationId, partition, service, kind, seq, payload (bin), last]` */
export const migrateDataCodec: MessageLayout<MigrateData> = {
  arity: 7,
  toWire: (m) => [
    m.migrationId,
    m.partition,
    m.service,
    enumToWire(m.kind, MIGRATE_DATA_KIND_CODES),
    m.seq,
    m.payload,
    m.last,
  ],
  fromWire: (ctx, f) => ({
    type: 'MigrateData',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    service: readString(f[2], 'service', SERVICE_NAME_BYTES_MAX, 1),
    kind: readEnum(f[3], 'kind', MIGRATE_DATA_KIND_CODES),
    seq: readUint(f[4], 'seq'),
    payload: readBytes(ctx, f[5], 'payload', PAYLOAD_BYTES_MAX),
    last: readBool(f[6], 'last'),
  }),
};

/** `[migrationId, partition, lastSeq]` */
export const migrateReadyCodec: MessageLayout<MigrateReady> = {
  arity: 3,
  toWire: (m) => [m.migrationId, m.partition, m.lastSeq],
  fromWire: (_ctx, f) => ({
    type: 'MigrateReady',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    lastSeq: readUint(f[2], 'lastSeq'),
  }),
};

/** `[migrationId, partition, epoch]` */
export const migrateFinalizeCodec: MessageLayout<MigrateFinalize> = {
  arity: 3,
  toWire: (m) => [m.migrationId, m.partition, m.epoch],
  fromWire: (_ctx, f) => ({
    type: 'MigrateFinalize',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    epoch: readUint(f[2], 'epoch'),
  }),
};

/** `[migrationId, partition, reason]` */
export const migrateCancelCodec: MessageLayout<MigrateCancel> = {
  arity: 3,
  toWire: (m) => [m.migrationId, m.partition, m.reason],
  fromWire: (_ctx, f) => ({
    type: 'MigrateCancel',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    reason: readString(f[2], 'reason', REASON_BYTES_MAX),
  }),
};

/** `[migrationId, partition, ready]` */
export const migrateQueryCodec: MessageLayout<MigrateQuery> = {
  arity: 3,
  toWire: (m) => [m.migrationId, m.partition, m.ready],
  fromWire: (_ctx, f) => ({
    type: 'MigrateQuery',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    ready: readBool(f[2], 'ready'),
  }),
};

/** `[migrationId, partition, verdict, tableVersion]`; verdict 0 committed, 1 cancelled, 2 unknown */
export const migrateStatusCodec: MessageLayout<MigrateStatus> = {
  arity: 4,
  toWire: (m) => [m.migrationId, m.partition, enumToWire(m.verdict, MIGRATION_VERDICT_CODES), m.tableVersion],
  fromWire: (_ctx, f) => ({
    type: 'MigrateStatus',
    migrationId: readMigrationId(f[0], 'migrationId'),
    partition: readUint32(f[1], 'partition'),
    verdict: readEnum(f[2], 'verdict', MIGRATION_VERDICT_CODES),
    tableVersion: readUint(f[3], 'tableVersion'),
  }),
};

/** `[opId, partition, origin, hops, op (bin)]`; hops in 1..MAX_FORWARD_HOPS */
export const opForwardCodec: MessageLayout<OpForward> = {
  arity: 5,
  toWire: (m) => [m.opId, m.partition, m.origin, m.hops, m.op],
  fromWire: (ctx, f) => ({
    type: 'OpForward',
    opId: readString(f[0], 'opId', OP_ID_BYTES_MAX, 1),
    partition: readUint32(f[1], 'partition'),
    origin: readNodeId(f[2], 'origin'),
    hops: readUint(f[3], 'hops', MAX_FORWARD_HOPS, 1),
    op: readBytes(ctx, f[4], 'op', PAYLOAD_BYTES_MAX),
  }),
};
