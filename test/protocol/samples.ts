/**
 * Hand-written sample messages: at least one per message type, with optional fields both
 * present and absent. The mapped type makes a type without samples a compile error.
 */
import type { MembersViewData, PartitionTableData } from '../../src/core/model.js';
import type { ClusterSummary, GossipUpdate, MessageOf, MessageType } from '../../src/protocol/messages.js';

export const view: MembersViewData = {
  version: 7,
  members: [
    { nodeId: 'n1', address: '10.0.0.1:7946', joinVersion: 1, status: 'active', incarnation: 4_000_000_000, tags: { zone: 'a' } },
    {
      nodeId: 'n2',
      address: '10.0.0.2:7946',
      clientAddress: 'ws://10.0.0.2:8080',
      joinVersion: 2,
      status: 'suspect',
      incarnation: 0,
      tags: {},
    },
    { nodeId: 'n3', address: 'host-3.example:7946', joinVersion: 300, status: 'leaving', incarnation: 12, tags: { 'ключ': 'значение 🚀' } },
    { nodeId: 'n4', address: '[::1]:7946', joinVersion: 2 ** 40, status: 'dead', incarnation: 1, tags: { a: '', b: 'x' } },
  ],
};

export const table: PartitionTableData = {
  version: 3,
  partitionCount: 271,
  assignments: [
    { partition: 0, owner: 'n1', backups: ['n2'], epoch: 1 },
    { partition: 270, owner: 'n2', backups: [], epoch: 2 ** 33 },
    { partition: 5, owner: 'n3', backups: ['n1', 'n2'], epoch: 0 },
  ],
};

export const summary: ClusterSummary = {
  clusterId: 'prod',
  masterId: 'n1',
  masterAddress: '10.0.0.1:7946',
  masterJoinVersion: 1,
  memberCount: 5,
  viewVersion: 99,
};

export const suspect: GossipUpdate = { type: 'Suspect', node: 'n2', incarnation: 10, from: 'n1' };
export const alive: GossipUpdate = { type: 'Alive', node: 'n3', incarnation: 2 ** 32 - 1, address: '10.0.0.3:7946', tags: { zone: 'b', rack: '7' } };
export const dead: GossipUpdate = { type: 'Dead', node: 'n4', incarnation: 3, from: 'n1', left: true };

const payload64 = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);

/** Samples of every message type. */
export const samples: { readonly [T in MessageType]: readonly MessageOf<T>[] } = {
  Ping: [
    { type: 'Ping', seqNo: 0, from: 'n1', target: 'n2', updates: [] },
    { type: 'Ping', seqNo: 2 ** 32 + 5, from: 'n1', target: 'n2', updates: [suspect, alive, dead] },
  ],
  PingReq: [{ type: 'PingReq', seqNo: 77, from: 'n1', target: 'n3', targetAddress: '10.0.0.3:7946', wantNack: true, updates: [alive] }],
  Ack: [
    { type: 'Ack', seqNo: 77, from: 'n3', updates: [] },
    { type: 'Ack', seqNo: 1, from: 'n3', updates: [dead, dead] },
    { type: 'Ack', seqNo: 78, from: 'n3', updates: [alive], sentAt: 1_700_000_000_123 },
    { type: 'Ack', seqNo: 79, from: 'n3', updates: [], sentAt: 0 },
  ],
  Nack: [{ type: 'Nack', seqNo: 65_535, from: 'n2' }],
  Gossip: [{ type: 'Gossip', from: 'n1', updates: [suspect, alive, dead, suspect, alive, dead, suspect, alive, dead, suspect, alive, dead, suspect, alive, dead, suspect, alive] }],
  PushPull: [
    { type: 'PushPull', from: 'n1', join: true, reply: false, clusterId: 'prod', states: [] },
    {
      type: 'PushPull',
      from: 'n2',
      join: false,
      reply: true,
      clusterId: 'prod',
      states: [
        { nodeId: 'n1', address: '10.0.0.1:7946', incarnation: 5, state: 'alive', tags: { zone: 'a' } },
        { nodeId: 'n4', address: '10.0.0.4:7946', incarnation: 6, state: 'left', tags: {} },
        { nodeId: 'n5', address: '10.0.0.5:7946', incarnation: 7, state: 'suspect', tags: {} },
        { nodeId: 'n6', address: '10.0.0.6:7946', incarnation: 8, state: 'dead', tags: {} },
      ],
    },
  ],
  Suspect: [{ type: 'Suspect', node: 'n2', incarnation: 10, from: 'n1' }],
  Alive: [{ type: 'Alive', node: 'n3', incarnation: 11, address: '10.0.0.3:7946', tags: { zone: 'b' } }],
  Dead: [
    { type: 'Dead', node: 'n4', incarnation: 3, from: 'n1', left: false },
    { type: 'Dead', node: 'n4', incarnation: 3, from: 'n4', left: true },
  ],
  JoinRequest: [
    {
      type: 'JoinRequest',
      node: { nodeId: 'n9', address: '10.0.0.9:7946', tags: { zone: 'c' } },
      clusterId: 'prod',
      protocolVersion: 1,
      authToken: 'hmac-sha256:abcdef',
      sentAt: 1_700_000_000_000,
    },
    {
      type: 'JoinRequest',
      node: { nodeId: 'n9', address: '10.0.0.9:7946', clientAddress: 'ws://10.0.0.9:8080', tags: {} },
      clusterId: 'prod',
      protocolVersion: 2,
      authToken: '',
      sentAt: 0,
    },
  ],
  JoinResponse: [
    { type: 'JoinResponse', accepted: true, view },
    { type: 'JoinResponse', accepted: true, view, table, reason: 'welcome' },
    { type: 'JoinResponse', accepted: false, rejectCode: 'FLO_AUTH_FAILED', reason: 'bad token' },
    { type: 'JoinResponse', accepted: false, rejectCode: 'FLO_PROTOCOL_VERSION' },
  ],
  MembersUpdate: [{ type: 'MembersUpdate', view }, { type: 'MembersUpdate', view: { version: 0, members: [] } }],
  LeaveRequest: [
    { type: 'LeaveRequest', nodeId: 'n2' },
    { type: 'LeaveRequest', nodeId: 'n2', reason: 'shutdown' },
  ],
  Heartbeat: [
    { type: 'Heartbeat', from: 'n2', viewVersion: 7, suspected: [] },
    { type: 'Heartbeat', from: 'n2', viewVersion: 7, suspected: ['n3', 'n4', 'n5'] },
  ],
  HeartbeatComplaint: [{ type: 'HeartbeatComplaint', from: 'n2', suspect: 'n3', viewVersion: 7 }],
  ExplicitSuspicion: [{ type: 'ExplicitSuspicion', from: 'n1', target: 'n5', viewVersion: 8, reason: 'removed from the view' }],
  PartitionTableUpdate: [
    { type: 'PartitionTableUpdate', table, completedMigrations: ['m-1', 'm-2'] },
    { type: 'PartitionTableUpdate', table: { version: 0, partitionCount: 1, assignments: [] }, completedMigrations: [] },
    // An owner died with no live backup: the partition is unowned (owner '') until reassigned.
    { type: 'PartitionTableUpdate', table: { version: 9, partitionCount: 2, assignments: [{ partition: 0, owner: '', backups: [], epoch: 3 }, { partition: 1, owner: 'n2', backups: [], epoch: 1 }] }, completedMigrations: [] },
    // A table naming its lineage (the master that began it, and its view version).
    { type: 'PartitionTableUpdate', table: { ...table, lineage: 'n1/4' }, completedMigrations: [] },
  ],
  FetchPartitionTable: [{ type: 'FetchPartitionTable', from: 'n3', knownVersion: 2 }],
  MergedTable: [{ type: 'MergedTable', from: 'n4', table }],
  MigrateStart: [
    { type: 'MigrateStart', migrationId: 'm-1', partition: 17, source: 'n1', destination: 'n2', role: 'owner', epoch: 4, tableVersion: 3 },
    { type: 'MigrateStart', migrationId: 'm-2', partition: 2 ** 32 - 1, source: 'n1', destination: 'n3', role: 'backup', epoch: 5, tableVersion: 3 },
  ],
  MigrateData: [
    { type: 'MigrateData', migrationId: 'm-1', partition: 17, service: 'grid', kind: 'chunk', seq: 0, payload: payload64, last: false },
    { type: 'MigrateData', migrationId: 'm-1', partition: 17, service: 'entities', kind: 'delta', seq: 9, payload: new Uint8Array(0), last: true },
  ],
  MigrateReady: [{ type: 'MigrateReady', migrationId: 'm-1', partition: 17, lastSeq: 9 }],
  MigrateFinalize: [{ type: 'MigrateFinalize', migrationId: 'm-1', partition: 17, epoch: 4 }],
  MigrateCancel: [{ type: 'MigrateCancel', migrationId: 'm-1', partition: 17, reason: 'source left' }],
  MigrateQuery: [
    { type: 'MigrateQuery', migrationId: 'm-1', partition: 17, ready: true },
    { type: 'MigrateQuery', migrationId: 'm-2', partition: 3, ready: false },
  ],
  MigrateStatus: [
    { type: 'MigrateStatus', migrationId: 'm-1', partition: 17, verdict: 'committed', tableVersion: 12 },
    { type: 'MigrateStatus', migrationId: 'm-2', partition: 2 ** 32 - 1, verdict: 'unknown', tableVersion: 0 },
  ],
  SplitBrainProbe: [{ type: 'SplitBrainProbe', from: 'n1', summary }],
  SplitBrainProbeResponse: [{ type: 'SplitBrainProbeResponse', from: 'x1', summary: { ...summary, clusterId: 'other' } }],
  MergeRequest: [
    { type: 'MergeRequest', from: 'n1', target: summary, seeds: ['10.0.0.1:7946', '10.0.0.2:7946'] },
    { type: 'MergeRequest', from: 'n1', target: summary, seeds: [] },
  ],
  OpForward: [
    { type: 'OpForward', opId: 'op-1', partition: 3, origin: 'n2', hops: 1, op: new Uint8Array([1, 2, 3]) },
    { type: 'OpForward', opId: 'op-2', partition: 270, origin: 'n2', hops: 3, op: new Uint8Array(300) },
  ],
  ServiceRequest: [
    { type: 'ServiceRequest', service: 'kv', partition: 12, opId: 'n1/42', forward: false, payload: new Uint8Array([0x93, 1, 2, 3]) },
    { type: 'ServiceRequest', service: 'entities', partition: 270, opId: 'op-9', forward: true, payload: new Uint8Array(0) },
  ],
  ServiceResponse: [
    { type: 'ServiceResponse', opId: 'n1/42', ok: true },
    { type: 'ServiceResponse', opId: 'n1/42', ok: true, payload: new Uint8Array([0xc0]) },
    {
      type: 'ServiceResponse',
      opId: 'op-9',
      ok: false,
      errorCode: 'FLO_NOT_OWNER',
      errorMessage: 'partition 270 is owned by n3',
      owner: 'n3',
      ownerAddress: '10.0.0.3:7946',
      tableVersion: 12,
    },
    { type: 'ServiceResponse', opId: 'op-10', ok: false, errorCode: 'FLO_INVALID_ARGUMENT' },
  ],
};

/** Every sample, flattened. */
export const allSamples = (Object.values(samples) as readonly (readonly MessageOf<MessageType>[])[]).flat();
