/**
 * fast-check arbitraries for every message type, within the codec's bounds. The mapped
 * type makes a message type without an arbitrary a compile error.
 */
import fc from 'fast-check';
import type { MembersViewData, PartitionTableData, Tags } from '../../src/core/model.js';
import type { ClusterSummary, GossipUpdate, Message, MessageOf, MessageType, PushPullEntry } from '../../src/protocol/messages.js';
import { MAX_FORWARD_HOPS, TAGS_BYTES_MAX, UINT32_MAX } from '../../src/protocol/limits.js';
import { utf8ByteLength } from '../../src/protocol/validate.js';

/** Drop keys whose value is undefined, the way the decoder leaves absent optionals absent. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const text = (maxLength: number, minLength = 0): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ unit: 'grapheme', minLength, maxLength: Math.max(minLength, Math.floor(maxLength / 8)) }),
  );

const id = text(24, 1);
const address = fc.oneof(
  fc.tuple(fc.ipV4(), fc.nat({ max: 65_535 })).map(([h, p]) => `${h}:${p}`),
  fc.domain().map((d) => `${d}:7946`),
);
const uint = fc.oneof(fc.nat({ max: 200 }), fc.nat(), fc.maxSafeNat());
const uint32 = fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: 0, max: UINT32_MAX }));
const bytes = fc.uint8Array({ maxLength: 300 });
const reason = text(40);

const tags: fc.Arbitrary<Tags> = fc
  .dictionary(text(8, 1).filter((k) => k !== '__proto__'), text(20), { maxKeys: 5 })
  .filter((t) => Object.entries(t).reduce((n, [k, v]) => n + utf8ByteLength(k) + utf8ByteLength(v), 0) <= TAGS_BYTES_MAX);

const suspect = fc.record({ type: fc.constant('Suspect' as const), node: id, incarnation: uint32, from: id });
const alive = fc.record({ type: fc.constant('Alive' as const), node: id, incarnation: uint32, address, tags });
const dead = fc.record({ type: fc.constant('Dead' as const), node: id, incarnation: uint32, from: id, left: fc.boolean() });
const update: fc.Arbitrary<GossipUpdate> = fc.oneof(suspect, alive, dead);
const updates = fc.array(update, { maxLength: 20 });

const member = fc
  .record({
    nodeId: id,
    address,
    clientAddress: fc.option(address, { nil: undefined }),
    joinVersion: uint,
    status: fc.constantFrom('active' as const, 'suspect' as const, 'leaving' as const, 'dead' as const),
    incarnation: uint32,
    tags,
  })
  .map(compact);
const view: fc.Arbitrary<MembersViewData> = fc.record({ version: uint, members: fc.array(member, { maxLength: 6 }) });

const table: fc.Arbitrary<PartitionTableData> = fc.integer({ min: 1, max: 300 }).chain((partitionCount) =>
  fc.record({
    version: uint,
    partitionCount: fc.constant(partitionCount),
    assignments: fc
      .uniqueArray(fc.nat({ max: partitionCount - 1 }), { maxLength: Math.min(partitionCount, 8) })
      .chain((parts) =>
        fc.tuple(...parts.map((partition) => fc.record({ partition: fc.constant(partition), owner: id, backups: fc.array(id, { maxLength: 3 }), epoch: uint }))),
      ),
    lineage: fc.option(id, { nil: undefined }),
  }).map(compact),
);

const summary: fc.Arbitrary<ClusterSummary> = fc.record({
  clusterId: id,
  masterId: id,
  masterAddress: address,
  masterJoinVersion: uint,
  memberCount: uint,
  viewVersion: uint,
  members: fc.option(fc.array(id, { maxLength: 5 }), { nil: undefined }),
}).map(compact);

const entry: fc.Arbitrary<PushPullEntry> = fc.record({
  nodeId: id,
  address,
  incarnation: uint32,
  state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const),
  tags,
});

type Arbs = { readonly [T in MessageType]: fc.Arbitrary<MessageOf<T>> };

const t = <T extends MessageType>(type: T) => fc.constant(type);

/** One arbitrary per message type. */
export const messageArbitraries: Arbs = {
  Ping: fc.record({ type: t('Ping'), seqNo: uint, from: id, target: id, updates }),
  PingReq: fc.record({ type: t('PingReq'), seqNo: uint, from: id, target: id, targetAddress: address, wantNack: fc.boolean(), updates }),
  Ack: fc.record({ type: t('Ack'), seqNo: uint, from: id, updates, sentAt: fc.option(uint, { nil: undefined }) }).map(compact),
  Nack: fc.record({ type: t('Nack'), seqNo: uint, from: id }),
  Gossip: fc.record({ type: t('Gossip'), from: id, updates }),
  PushPull: fc.record({ type: t('PushPull'), from: id, join: fc.boolean(), reply: fc.boolean(), clusterId: id, states: fc.array(entry, { maxLength: 8 }) }),
  Suspect: suspect,
  Alive: alive,
  Dead: dead,
  JoinRequest: fc.record({
    type: t('JoinRequest'),
    node: fc.record({ nodeId: id, address, clientAddress: fc.option(address, { nil: undefined }), tags }).map(compact),
    clusterId: id,
    protocolVersion: uint32,
    authToken: text(64),
    sentAt: uint,
  }),
  JoinResponse: fc.oneof(
    fc
      .record({ type: t('JoinResponse'), accepted: fc.constant(true), view, table: fc.option(table, { nil: undefined }), reason: fc.option(reason, { nil: undefined }) })
      .map(compact),
    fc.record({ type: t('JoinResponse'), accepted: fc.constant(false), rejectCode: text(20, 1), reason: fc.option(reason, { nil: undefined }) }).map(compact),
  ),
  MembersUpdate: fc.record({ type: t('MembersUpdate'), view }),
  LeaveRequest: fc.record({ type: t('LeaveRequest'), nodeId: id, reason: fc.option(reason, { nil: undefined }) }).map(compact),
  Heartbeat: fc.record({ type: t('Heartbeat'), from: id, viewVersion: uint, suspected: fc.array(id, { maxLength: 10 }) }),
  HeartbeatComplaint: fc.record({ type: t('HeartbeatComplaint'), from: id, suspect: id, viewVersion: uint }),
  ExplicitSuspicion: fc.record({ type: t('ExplicitSuspicion'), from: id, target: id, viewVersion: uint, reason }),
  PartitionTableUpdate: fc.record({ type: t('PartitionTableUpdate'), table, completedMigrations: fc.array(id, { maxLength: 10 }) }),
  FetchPartitionTable: fc.record({ type: t('FetchPartitionTable'), from: id, knownVersion: uint }),
  MergedTable: fc.record({ type: t('MergedTable'), from: id, table }),
  MigrateStart: fc.record({
    type: t('MigrateStart'),
    migrationId: id,
    partition: uint32,
    source: id,
    destination: id,
    role: fc.constantFrom('owner' as const, 'backup' as const),
    epoch: uint,
    tableVersion: uint,
  }),
  MigrateData: fc.record({
    type: t('MigrateData'),
    migrationId: id,
    partition: uint32,
    service: text(16, 1),
    kind: fc.constantFrom('chunk' as const, 'delta' as const),
    seq: uint,
    payload: bytes,
    last: fc.boolean(),
  }),
  MigrateReady: fc.record({ type: t('MigrateReady'), migrationId: id, partition: uint32, lastSeq: uint }),
  MigrateFinalize: fc.record({ type: t('MigrateFinalize'), migrationId: id, partition: uint32, epoch: uint }),
  MigrateCancel: fc.record({ type: t('MigrateCancel'), migrationId: id, partition: uint32, reason }),
  MigrateQuery: fc.record({ type: t('MigrateQuery'), migrationId: id, partition: uint32, ready: fc.boolean() }),
  MigrateStatus: fc.record({
    type: t('MigrateStatus'),
    migrationId: id,
    partition: uint32,
    verdict: fc.constantFrom('committed' as const, 'cancelled' as const, 'unknown' as const),
    tableVersion: uint,
  }),
  SplitBrainProbe: fc.record({ type: t('SplitBrainProbe'), from: id, summary }),
  SplitBrainProbeResponse: fc.record({ type: t('SplitBrainProbeResponse'), from: id, summary }),
  MergeRequest: fc.record({ type: t('MergeRequest'), from: id, target: summary, seeds: fc.array(address, { maxLength: 5 }) }),
  OpForward: fc.record({
    type: t('OpForward'),
    opId: id,
    partition: uint32,
    origin: id,
    hops: fc.integer({ min: 1, max: MAX_FORWARD_HOPS }),
    op: bytes,
  }),
  ServiceRequest: fc.record({ type: t('ServiceRequest'), service: text(16, 1), partition: uint32, opId: id, forward: fc.boolean(), payload: bytes }),
  ServiceResponse: fc.oneof(
    fc.record({ type: t('ServiceResponse'), opId: id, ok: fc.constant(true), payload: fc.option(bytes, { nil: undefined }) }).map(compact),
    fc
      .record({
        type: t('ServiceResponse'),
        opId: id,
        ok: fc.constant(false),
        errorCode: text(20, 1),
        errorMessage: fc.option(reason, { nil: undefined }),
        owner: fc.option(id, { nil: undefined }),
        ownerAddress: fc.option(address, { nil: undefined }),
        tableVersion: fc.option(uint, { nil: undefined }),
      })
      .map(compact),
  ),
};

/** Any message. */
export const anyMessage: fc.Arbitrary<Message> = fc.oneof(...(Object.values(messageArbitraries) as fc.Arbitrary<Message>[]));

/** Any gossip update. */
export const anyUpdate = update;
