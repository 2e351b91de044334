/**
 * Conservative size estimates for gossip updates and whole messages, used for the gossip
 * byte budget and the byte counters when the wire codec's exact sizes are not injected.
 * Each record is sized as a msgpack map with its keys, which is never smaller than the
 * codec's positional encoding, so a budget met under the estimate is met on the wire.
 */
import type { MemberRecord } from '../core/model.js';
import type { GossipUpdate, Message, PushPull } from '../protocol/messages.js';

/** Bytes of a gossip update on the wire (an upper bound is fine, an under-estimate is not). */
export type UpdateSizer = (update: GossipUpdate) => number;

/** Bytes of a whole message on the wire. */
export type MessageSizer = (message: Message) => number;

/** Slack added to every estimate for framing the codec may add around a record. */
const ESTIMATE_SLACK_BYTES = 8;

/** UTF-8 byte length of a string, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function containerHeader(count: number): number {
  return count < 0x10 ? 1 : count < 0x10000 ? 3 : 5;
}

function numberBytes(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) return 9;
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function stringBytes(text: string): number {
  const n = utf8Length(text);
  return (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

/**
 * msgpack size of `value` encoded as maps with their keys. The wire codec encodes records
 * as positional arrays with a short type code instead, so this never under-estimates.
 */
export function mapEncodedSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'string') return stringBytes(value);
  if (value instanceof Uint8Array) return (value.byteLength < 0x100 ? 2 : value.byteLength < 0x10000 ? 3 : 5) + value.byteLength;
  if (Array.isArray(value)) {
    let size = containerHeader(value.length);
    for (const item of value as unknown[]) size += mapEncodedSize(item);
    return size;
  }
  if (typeof value === 'object') {
    // for-in without allocating entry arrays: this runs for every message sent and received.
    const record = value as Record<string, unknown>;
    let size = 0;
    let count = 0;
    for (const key in record) {
      if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
      const item = record[key];
      if (item === undefined) continue;
      size += stringBytes(key) + mapEncodedSize(item);
      count++;
    }
    return containerHeader(count) + size;
  }
  return 9;
}

/** msgpack size of a key string, computed once per field name. */
const key = (name: string): number => stringBytes(name);
const K_TYPE = key('type');
const K_NODE = key('node');
const K_INCARNATION = key('incarnation');
const K_ADDRESS = key('address');
const K_TAGS = key('tags');
const K_FROM = key('from');
const K_LEFT = key('left');
const K_SEQ_NO = key('seqNo');
const K_TARGET = key('target');
const K_TARGET_ADDRESS = key('targetAddress');
const K_WANT_NACK = key('wantNack');
const K_UPDATES = key('updates');
const K_VIEW_VERSION = key('viewVersion');
const K_SUSPECTED = key('suspected');
const K_JOIN = key('join');
const K_REPLY = key('reply');
const K_CLUSTER_ID = key('clusterId');
const K_STATES = key('states');
const K_NODE_ID = key('nodeId');
const K_STATE = key('state');
const K_VIEW = key('view');
const K_VERSION = key('version');
const K_MEMBERS = key('members');
const K_CLIENT_ADDRESS = key('clientAddress');
const K_JOIN_VERSION = key('joinVersion');
const K_STATUS = key('status');
const K_SENT_AT = key('sentAt');

const typeField = (type: string): number => K_TYPE + stringBytes(type);
const T_ALIVE = typeField('Alive');
const T_SUSPECT = typeField('Suspect');
const T_DEAD = typeField('Dead');
const T_PING = typeField('Ping');
const T_ACK = typeField('Ack');
const T_NACK = typeField('Nack');
const T_PING_REQ = typeField('PingReq');
const T_GOSSIP = typeField('Gossip');
const T_HEARTBEAT = typeField('Heartbeat');
const T_PUSH_PULL = typeField('PushPull');
const T_MEMBERS_UPDATE = typeField('MembersUpdate');

/** `mapEncodedSize(tags)`: a map of string values (anything else is walked). */
function tagsMapSize(tags: Readonly<Record<string, unknown>>): number {
  let size = 0;
  let count = 0;
  for (const k in tags) {
    if (!Object.prototype.hasOwnProperty.call(tags, k)) continue;
    const v = tags[k];
    if (v === undefined) continue;
    size += stringBytes(k) + (typeof v === 'string' ? stringBytes(v) : mapEncodedSize(v));
    count++;
  }
  return containerHeader(count) + size;
}

/**
 * `mapEncodedSize(update)` without walking the object: the fields of each update type
 * are known, so only the variable strings, numbers and tags are measured. Gossip is
 * sized on every send and receive, which makes this the hottest estimate.
 */
function updateMapSize(u: GossipUpdate): number {
  const common = 1 + K_NODE + stringBytes(u.node) + K_INCARNATION + numberBytes(u.incarnation);
  switch (u.type) {
    case 'Alive':
      return common + T_ALIVE + K_ADDRESS + stringBytes(u.address) + K_TAGS + tagsMapSize(u.tags);
    case 'Suspect':
      return common + T_SUSPECT + K_FROM + stringBytes(u.from);
    case 'Dead':
      return common + T_DEAD + K_FROM + stringBytes(u.from) + K_LEFT + 1;
    default:
      return mapEncodedSize(u);
  }
}

function updatesSize(updates: readonly GossipUpdate[]): number {
  let size = containerHeader(updates.length);
  for (let i = 0; i < updates.length; i++) size += updateMapSize(updates[i]!);
  return size;
}

/**
 * Sizes of the long lists (push-pull states, view records), by identity. A node builds
 * such a list once per change and sends it to many members; each of them sizes it on
 * receipt. Lists are never mutated once sent, and a decoded copy simply misses.
 */
const listSizes = new WeakMap<readonly unknown[], number>();

function entriesSize(states: PushPull['states']): number {
  const known = listSizes.get(states);
  if (known !== undefined) return known;
  const size = measureEntries(states);
  listSizes.set(states, size);
  return size;
}

function recordsSize(records: readonly MemberRecord[]): number {
  const known = listSizes.get(records);
  if (known !== undefined) return known;
  let size = containerHeader(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += (r.clientAddress === undefined ? 1 : 1 + K_CLIENT_ADDRESS + stringBytes(r.clientAddress)) + K_NODE_ID + stringBytes(r.nodeId);
    size += K_ADDRESS + stringBytes(r.address) + K_JOIN_VERSION + numberBytes(r.joinVersion) + K_STATUS + stringBytes(r.status);
    size += K_INCARNATION + numberBytes(r.incarnation) + K_TAGS + tagsMapSize(r.tags);
  }
  listSizes.set(records, size);
  return size;
}

function measureEntries(states: PushPull['states']): number {
  let size = containerHeader(states.length);
  for (let i = 0; i < states.length; i++) {
    const e = states[i]!;
    size += 1 + K_NODE_ID + stringBytes(e.nodeId) + K_ADDRESS + stringBytes(e.address) + K_INCARNATION + numberBytes(e.incarnation);
    size += K_STATE + stringBytes(e.state) + K_TAGS + tagsMapSize(e.tags);
  }
  return size;
}

/** `mapEncodedSize(message)` by known fields for the frequent types; other types are walked. */
function messageMapSize(m: Message): number {
  switch (m.type) {
    case 'Ping':
      return 1 + T_PING + K_SEQ_NO + numberBytes(m.seqNo) + K_FROM + stringBytes(m.from) + K_TARGET + stringBytes(m.target) + K_UPDATES + updatesSize(m.updates);
    case 'Ack':
      return (
        1 + T_ACK + K_SEQ_NO + numberBytes(m.seqNo) + K_FROM + stringBytes(m.from) + K_UPDATES + updatesSize(m.updates) +
        (m.sentAt === undefined ? 0 : K_SENT_AT + numberBytes(m.sentAt))
      );
    case 'Nack':
      return 1 + T_NACK + K_SEQ_NO + numberBytes(m.seqNo) + K_FROM + stringBytes(m.from);
    case 'PingReq':
      return (
        1 + T_PING_REQ + K_SEQ_NO + numberBytes(m.seqNo) + K_FROM + stringBytes(m.from) + K_TARGET + stringBytes(m.target) +
        K_TARGET_ADDRESS + stringBytes(m.targetAddress) + K_WANT_NACK + 1 + K_UPDATES + updatesSize(m.updates)
      );
    case 'Gossip':
      return 1 + T_GOSSIP + K_FROM + stringBytes(m.from) + K_UPDATES + updatesSize(m.updates);
    case 'Alive':
    case 'Suspect':
    case 'Dead':
      return updateMapSize(m);
    case 'Heartbeat': {
      let size = 1 + T_HEARTBEAT + K_FROM + stringBytes(m.from) + K_VIEW_VERSION + numberBytes(m.viewVersion) + K_SUSPECTED;
      size += containerHeader(m.suspected.length);
      for (const id of m.suspected) size += stringBytes(id);
      return size;
    }
    case 'PushPull':
      return 1 + T_PUSH_PULL + K_FROM + stringBytes(m.from) + K_JOIN + 1 + K_REPLY + 1 + K_CLUSTER_ID + stringBytes(m.clusterId) + K_STATES + entriesSize(m.states);
    case 'MembersUpdate':
      return 1 + T_MEMBERS_UPDATE + K_VIEW + 1 + K_VERSION + numberBytes(m.view.version) + K_MEMBERS + recordsSize(m.view.members);
    default:
      return mapEncodedSize(m);
  }
}

/** Default update sizer: the map-encoded size plus slack. */
export function estimateUpdateSize(update: GossipUpdate): number {
  return updateMapSize(update) + ESTIMATE_SLACK_BYTES;
}

/** Default message sizer: the map-encoded size plus slack. */
export function estimateMessageSize(message: Message): number {
  return messageMapSize(message) + ESTIMATE_SLACK_BYTES;
}
