/**
 * Codecs of the SWIM messages: probes, acks, gossip and the updates they piggyback, and
 * the push-pull anti-entropy exchange. Field order is the wire order and never changes.
 */
import type { Ack, Alive, Dead, Gossip, GossipUpdate, Nack, Ping, PingReq, PushPull, Suspect } from './messages.js';
import { GOSSIP_UPDATES_MAX, PUSH_PULL_STATES_MAX } from './limits.js';
import type { MessageLayout } from './message-layout.js';
import {
  entryToWire,
  listToWire,
  readAliveAt,
  readClusterId,
  readDeadAt,
  readEntry,
  readSuspectAt,
  readUpdate,
  updateFieldsToWire,
  updateToWire,
  UPDATE_ARITY,
} from './wire-records.js';
import { readAddress, readArray, readBool, readNodeId, readOptional, readUint } from './validate.js';

function updatesToWire(updates: readonly GossipUpdate[]): unknown {
  return listToWire(updates, updateToWire);
}

function readUpdates(v: unknown): GossipUpdate[] {
  return readArray(v, 'updates', GOSSIP_UPDATES_MAX, readUpdate);
}

/** `[seqNo, from, target, updates[]]` */
export const pingCodec: MessageLayout<Ping> = {
  arity: 4,
  toWire: (m) => [m.seqNo, m.from, m.target, updatesToWire(m.updates)],
  fromWire: (_ctx, f) => ({
    type: 'Ping',
    seqNo: readUint(f[0], 'seqNo'),
    from: readNodeId(f[1], 'from'),
    target: readNodeId(f[2], 'target'),
    updates: readUpdates(f[3]),
  }),
};

/** `[seqNo, from, target, targetAddress, wantNack, updates[]]` */
export const pingReqCodec: MessageLayout<PingReq> = {
  arity: 6,
  toWire: (m) => [m.seqNo, m.from, m.target, m.targetAddress, m.wantNack, updatesToWire(m.updates)],
  fromWire: (_ctx, f) => ({
    type: 'PingReq',
    seqNo: readUint(f[0], 'seqNo'),
    from: readNodeId(f[1], 'from'),
    target: readNodeId(f[2], 'target'),
    targetAddress: readAddress(f[3], 'targetAddress'),
    wantNack: readBool(f[4], 'wantNack'),
    updates: readUpdates(f[5]),
  }),
};

/** `[seqNo, from, updates[], sentAt | nil]` */
export const ackCodec: MessageLayout<Ack> = {
  arity: 4,
  toWire: (m) => [m.seqNo, m.from, updatesToWire(m.updates), m.sentAt ?? null],
  fromWire: (_ctx, f) => {
    const sentAt = readOptional(f[3], (v) => readUint(v, 'sentAt'));
    const ack: Ack = { type: 'Ack', seqNo: readUint(f[0], 'seqNo'), from: readNodeId(f[1], 'from'), updates: readUpdates(f[2]) };
    return sentAt === undefined ? ack : { ...ack, sentAt };
  },
};

/** `[seqNo, from]` */
export const nackCodec: MessageLayout<Nack> = {
  arity: 2,
  toWire: (m) => [m.seqNo, m.from],
  fromWire: (_ctx, f) => ({
    type: 'Nack',
    seqNo: readUint(f[0], 'seqNo'),
    from: readNodeId(f[1], 'from'),
  }),
};

/** `[from, updates[]]` */
export const gossipCodec: MessageLayout<Gossip> = {
  arity: 2,
  toWire: (m) => [m.from, updatesToWire(m.updates)],
  fromWire: (_ctx, f) => ({
    type: 'Gossip',
    from: readNodeId(f[0], 'from'),
    updates: readUpdates(f[1]),
  }),
};

/** `[from, join, reply, clusterId, states[]]`, each state `[nodeId, address, incarnation, state, tags]` */
export const pushPullCodec: MessageLayout<PushPull> = {
  arity: 5,
  toWire: (m) => [m.from, m.join, m.reply, m.clusterId, listToWire(m.states, entryToWire)],
  fromWire: (_ctx, f) => ({
    type: 'PushPull',
    from: readNodeId(f[0], 'from'),
    join: readBool(f[1], 'join'),
    reply: readBool(f[2], 'reply'),
    clusterId: readClusterId(f[3], 'clusterId'),
    states: readArray(f[4], 'states', PUSH_PULL_STATES_MAX, readEntry),
  }),
};

/** `[node, incarnation, from]` */
export const suspectCodec: MessageLayout<Suspect> = {
  arity: UPDATE_ARITY.Suspect,
  toWire: (m) => updateFieldsToWire(m),
  fromWire: (_ctx, f) => readSuspectAt(f, 0),
};

/** `[node, incarnation, address, tags]` */
export const aliveCodec: MessageLayout<Alive> = {
  arity: UPDATE_ARITY.Alive,
  toWire: (m) => updateFieldsToWire(m),
  fromWire: (_ctx, f) => readAliveAt(f, 0),
};

/** `[node, incarnation, from, left]` */
export const deadCodec: MessageLayout<Dead> = {
  arity: UPDATE_ARITY.Dead,
  toWire: (m) => updateFieldsToWire(m),
  fromWire: (_ctx, f) => readDeadAt(f, 0),
};
