/**
 * Codecs of the master's membership messages (join, leave, views, heartbeats,
 * complaints) and of the split-brain messages. Field order is the wire order and never
 * changes.
 */
import type {
  ExplicitSuspicion,
  Heartbeat,
  HeartbeatComplaint,
  JoinRequest,
  JoinResponse,
  LeaveRequest,
  MembersUpdate,
  MergeRequest,
  SplitBrainProbe,
  SplitBrainProbeResponse,
} from './messages.js';
import { AUTH_TOKEN_BYTES_MAX, ERROR_CODE_BYTES_MAX, MEMBERS_MAX, REASON_BYTES_MAX, SEEDS_MAX } from './limits.js';
import type { MessageLayout } from './message-layout.js';
import {
  nodeInfoToWire,
  readClusterId,
  readNodeInfo,
  readSummary,
  readTable,
  readView,
  summaryToWire,
  tableToWire,
  viewToWire,
} from './wire-records.js';
import {
  invalid,
  nested,
  readAddress,
  readArray,
  readBool,
  readNodeId,
  readOptional,
  readString,
  readUint,
  readUint32,
} from './validate.js';

function readReason(v: unknown, path = 'reason'): string {
  return readString(v, path, REASON_BYTES_MAX);
}

function readRejectCode(v: unknown): string {
  return readString(v, 'rejectCode', ERROR_CODE_BYTES_MAX, 1);
}

/** `[node, clusterId, protocolVersion, authToken, sentAt]`, node `[nodeId, address, clientAddress | nil, tags]` */
export const joinRequestCodec: MessageLayout<JoinRequest> = {
  arity: 5,
  toWire: (m) => [nodeInfoToWire(m.node), m.clusterId, m.protocolVersion, m.authToken, m.sentAt],
  fromWire: (_ctx, f) => ({
    type: 'JoinRequest',
    node: nested('node', readNodeInfo, f[0]),
    clusterId: readClusterId(f[1], 'clusterId'),
    protocolVersion: readUint32(f[2], 'protocolVersion'),
    authToken: readString(f[3], 'authToken', AUTH_TOKEN_BYTES_MAX),
    sentAt: readUint(f[4], 'sentAt'),
  }),
};

/**
 * `[accepted, view | nil, table | nil, rejectCode | nil, reason | nil]`. Accepted needs a
 * view; rejected needs a rejectCode and carries neither view nor table.
 */
export const joinResponseCodec: MessageLayout<JoinResponse> = {
  arity: 5,
  toWire: (m) => [
    m.accepted,
    m.view === undefined ? null : viewToWire(m.view),
    m.table === undefined ? null : tableToWire(m.table),
    m.rejectCode ?? null,
    m.reason ?? null,
  ],
  fromWire: (_ctx, f) => {
    const accepted = readBool(f[0], 'accepted');
    const view = readOptional(f[1], (x) => nested('view', readView, x));
    const table = readOptional(f[2], (x) => nested('table', readTable, x));
    const rejectCode = readOptional(f[3], readRejectCode);
    const reason = readOptional(f[4], readReason);
    if (accepted && view === undefined) invalid('view', 'a view when accepted');
    if (!accepted && rejectCode === undefined) invalid('rejectCode', 'a code when rejected');
    if (!accepted && (view !== undefined || table !== undefined)) {
      invalid('view', 'no view or table when rejected');
    }
    return {
      type: 'JoinResponse',
      accepted,
      ...(view === undefined ? {} : { view }),
      ...(table === undefined ? {} : { table }),
      ...(rejectCode === undefined ? {} : { rejectCode }),
      ...(reason === undefined ? {} : { reason }),
    };
  },
};

/** `[view]`, view `[version, members[]]` */
export const membersUpdateCodec: MessageLayout<MembersUpdate> = {
  arity: 1,
  toWire: (m) => [viewToWire(m.view)],
  fromWire: (_ctx, f) => ({ type: 'MembersUpdate', view: nested('view', readView, f[0]) }),
};

/** `[nodeId, reason | nil]` */
export const leaveRequestCodec: MessageLayout<LeaveRequest> = {
  arity: 2,
  toWire: (m) => [m.nodeId, m.reason ?? null],
  fromWire: (_ctx, f) => {
    const reason = readOptional(f[1], readReason);
    return {
      type: 'LeaveRequest',
      nodeId: readNodeId(f[0], 'nodeId'),
      ...(reason === undefined ? {} : { reason }),
    };
  },
};

/** `[from, viewVersion, suspected[]]` */
export const heartbeatCodec: MessageLayout<Heartbeat> = {
  arity: 3,
  toWire: (m) => [m.from, m.viewVersion, m.suspected],
  fromWire: (_ctx, f) => ({
    type: 'Heartbeat',
    from: readNodeId(f[0], 'from'),
    viewVersion: readUint(f[1], 'viewVersion'),
    suspected: readArray(f[2], 'suspected', MEMBERS_MAX, readNodeId),
  }),
};

/** `[from, suspect, viewVersion]` */
export const heartbeatComplaintCodec: MessageLayout<HeartbeatComplaint> = {
  arity: 3,
  toWire: (m) => [m.from, m.suspect, m.viewVersion],
  fromWire: (_ctx, f) => ({
    type: 'HeartbeatComplaint',
    from: readNodeId(f[0], 'from'),
    suspect: readNodeId(f[1], 'suspect'),
    viewVersion: readUint(f[2], 'viewVersion'),
  }),
};

/** `[from, target, viewVersion, reason]` */
export const explicitSuspicionCodec: MessageLayout<ExplicitSuspicion> = {
  arity: 4,
  toWire: (m) => [m.from, m.target, m.viewVersion, m.reason],
  fromWire: (_ctx, f) => ({
    type: 'ExplicitSuspicion',
    from: readNodeId(f[0], 'from'),
    target: readNodeId(f[1], 'target'),
    viewVersion: readUint(f[2], 'viewVersion'),
    reason: readReason(f[3]),
  }),
};

/** `[from, summary]`, summary `[clusterId, masterId, masterAddress, masterJoinVersion, memberCount, viewVersion]` */
export const splitBrainProbeCodec: MessageLayout<SplitBrainProbe> = {
  arity: 2,
  toWire: (m) => [m.from, summaryToWire(m.summary)],
  fromWire: (_ctx, f) => ({
    type: 'SplitBrainProbe',
    from: readNodeId(f[0], 'from'),
    summary: nested('summary', readSummary, f[1]),
  }),
};

/** `[from, summary]` */
export const splitBrainProbeResponseCodec: MessageLayout<SplitBrainProbeResponse> = {
  arity: 2,
  toWire: (m) => [m.from, summaryToWire(m.summary)],
  fromWire: (_ctx, f) => ({
    type: 'SplitBrainProbeResponse',
    from: readNodeId(f[0], 'from'),
    summary: nested('summary', readSummary, f[1]),
  }),
};

/** `[from, target, seeds[]]` */
export const mergeRequestCodec: MessageLayout<MergeRequest> = {
  arity: 3,
  toWire: (m) => [m.from, summaryToWire(m.target), m.seeds],
  fromWire: (_ctx, f) => ({
    type: 'MergeRequest',
    from: readNodeId(f[0], 'from'),
    target: nested('target', readSummary, f[1]),
    seeds: readArray(f[2], 'seeds', SEEDS_MAX, readAddress),
  }),
};
