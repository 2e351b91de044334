/**
 * The nested records that messages carry (node info, members views, partition tables,
 * cluster summaries, push-pull entries, gossip updates), each as a pair: `...ToWire`
 * lays it out as a positional msgpack array, `read...` checks and rebuilds it.
 */
import type {
  MemberRecord,
  MembersViewData,
  NodeInfo,
  PartitionAssignment,
  PartitionTableData,
  Tags,
} from '../core/model.js';
import type { Alive, ClusterSummary, Dead, GossipUpdate, PushPullEntry, Suspect } from './messages.js';
import {
  ADDRESS_BYTES_MAX,
  BACKUPS_MAX,
  CLUSTER_ID_BYTES_MAX,
  LINEAGE_ID_BYTES_MAX,
  MEMBERS_MAX,
  PARTITION_COUNT_MAX,
} from './limits.js';
import { MEMBER_STATUS_CODES, MESSAGE_TYPE_CODES, SWIM_STATE_CODES } from './type-codes.js';
import {
  invalid,
  isPlainObject,
  readAddress,
  readArray,
  readBool,
  readEnum,
  readFields,
  readNodeId,
  readOptional,
  readString,
  readTags,
  readUint,
  readUint32,
} from './validate.js';

// ---------------------------------------------------------------------------------------
// Shared helpers for the encode direction. They never throw: a value of the wrong shape
// is passed through unchanged so that the reader rejects it with the field's path.
// ---------------------------------------------------------------------------------------

/** Tags as a msgpack map (a JS Map packs as a map whatever its keys look like). */
export function tagsToWire(tags: Tags): unknown {
  if (!isPlainObject(tags)) return tags;
  const map = new Map<string, unknown>();
  for (const key of Object.keys(tags)) map.set(key, tags[key]);
  return map;
}

/** An array field, each item laid out by `fn`. */
export function listToWire<T>(items: readonly T[], fn: (item: T) => unknown): unknown {
  return Array.isArray(items) ? items.map(fn) : items;
}

/** A nested record laid out by `fn`, or the raw value when it is not an object. */
export function recordToWire<T extends object>(record: T, fn: (record: T) => unknown[]): unknown {
  return typeof record === 'object' && record !== null ? fn(record) : record;
}

/** An enumerated value as its code (-1, which every reader refuses, when unknown). */
export function enumToWire<T>(value: T, table: readonly T[]): number {
  return table.indexOf(value);
}

// ---------------------------------------------------------------------------------------
// Node identity and the members view
// ---------------------------------------------------------------------------------------

function readClientAddress(v: unknown): string {
  return readString(v, 'clientAddress', ADDRESS_BYTES_MAX, 1);
}

/** NodeInfo: `[nodeId, address, clientAddress | nil, tags]`. */
export function nodeInfoToWire(n: NodeInfo): unknown {
  return recordToWire(n, (r) => [r.nodeId, r.address, r.clientAddress ?? null, tagsToWire(r.tags)]);
}

/** Check and rebuild a NodeInfo. */
export function readNodeInfo(v: unknown): NodeInfo {
  const f = readFields(v, 4);
  const clientAddress = readOptional(f[2], readClientAddress);
  return {
    nodeId: readNodeId(f[0], 'nodeId'),
    address: readAddress(f[1], 'address'),
    ...(clientAddress === undefined ? {} : { clientAddress }),
    tags: readTags(f[3], 'tags'),
  };
}

/** MemberRecord: `[nodeId, address, clientAddress | nil, joinVersion, status, incarnation, tags]`. */
function memberToWire(m: MemberRecord): unknown {
  return recordToWire(m, (r) => [
    r.nodeId,
    r.address,
    r.clientAddress ?? null,
    r.joinVersion,
    enumToWire(r.status, MEMBER_STATUS_CODES),
    r.incarnation,
    tagsToWire(r.tags),
  ]);
}

function readMember(v: unknown): MemberRecord {
  const f = readFields(v, 7);
  const clientAddress = readOptional(f[2], readClientAddress);
  return {
    nodeId: readNodeId(f[0], 'nodeId'),
    address: readAddress(f[1], 'address'),
    ...(clientAddress === undefined ? {} : { clientAddress }),
    joinVersion: readUint(f[3], 'joinVersion'),
    status: readEnum(f[4], 'status', MEMBER_STATUS_CODES),
    incarnation: readUint32(f[5], 'incarnation'),
    tags: readTags(f[6], 'tags'),
  };
}

/** MembersViewData: `[version, members[]]`. */
export function viewToWire(view: MembersViewData): unknown {
  return recordToWire(view, (r) => [r.version, listToWire(r.members, memberToWire)]);
}

/** Check and rebuild a MembersViewData. */
export function readView(v: unknown): MembersViewData {
  const f = readFields(v, 2);
  return { version: readUint(f[0], 'version'), members: readArray(f[1], 'members', MEMBERS_MAX, readMember) };
}

// ---------------------------------------------------------------------------------------
// Partition table
// ---------------------------------------------------------------------------------------

/** PartitionAssignment: `[partition, owner, backups[], epoch]`. */
function assignmentToWire(a: PartitionAssignment): unknown {
  return recordToWire(a, (r) => [r.partition, r.owner, r.backups, r.epoch]);
}

/**
 * The owner of a partition nobody owns: the empty string, the marker a master writes when
 * an owner died with no live backup (its epoch raised to fence the dead owner).
 */
const UNOWNED = '';

function readAssignment(v: unknown, partitionCount: number): PartitionAssignment {
  const f = readFields(v, 4);
  const partition = readUint(f[0], 'partition', partitionCount - 1);
  // A partition that lost every replica at once (owner and backups died together) stays
  // unowned, with no backups, until the next rebalance: the master publishes it so.
  const owner = f[1] === UNOWNED ? UNOWNED : readNodeId(f[1], 'owner');
  const backups = readArray(f[2], 'backups', BACKUPS_MAX, readNodeId);
  if (owner === UNOWNED && backups.length > 0) invalid('owner', 'an unowned partition has no backups');
  return { partition, owner, backups, epoch: readUint(f[3], 'epoch') };
}

/** PartitionTableData: `[version, partitionCount, assignments[]]`, then `lineage` when the table has one. */
export function tableToWire(table: PartitionTableData): unknown {
  return recordToWire(table, (r) => {
    const fields: unknown[] = [r.version, r.partitionCount, listToWire(r.assignments, assignmentToWire)];
    if (r.lineage !== undefined) fields.push(r.lineage);
    return fields;
  });
}

/** Check and rebuild a PartitionTableData (each partition assigned at most once). */
export function readTable(v: unknown): PartitionTableData {
  // Three fields from a node of an earlier version (no lineage), else four.
  const f = readFields(v, Array.isArray(v) && v.length === 3 ? 3 : 4);
  const partitionCount = readUint(f[1], 'partitionCount', PARTITION_COUNT_MAX, 1);
  const seen = new Uint8Array(partitionCount);
  const assignments = readArray(f[2], 'assignments', partitionCount, (x) => {
    const a = readAssignment(x, partitionCount);
    if (seen[a.partition] === 1) invalid('partition', 'each partition assigned at most once');
    seen[a.partition] = 1;
    return a;
  });
  const table = { version: readUint(f[0], 'version'), partitionCount, assignments };
  return f.length === 3 ? table : { ...table, lineage: readString(f[3], 'lineage', LINEAGE_ID_BYTES_MAX, 1) };
}

// ---------------------------------------------------------------------------------------
// Split brain
// ---------------------------------------------------------------------------------------

/** ClusterSummary: `[clusterId, masterId, masterAddress, masterJoinVersion, memberCount, viewVersion, members?]`. */
export function summaryToWire(s: ClusterSummary): unknown {
  return recordToWire(s, (r) => {
    const fields: unknown[] = [r.clusterId, r.masterId, r.masterAddress, r.masterJoinVersion, r.memberCount, r.viewVersion];
    if (r.members !== undefined) fields.push(r.members);
    return fields;
  });
}

/** Check and rebuild a ClusterSummary (six fields from senders that list no members). */
export function readSummary(v: unknown): ClusterSummary {
  const f = readFields(v, Array.isArray(v) && v.length === 7 ? 7 : 6);
  const summary: ClusterSummary = {
    clusterId: readClusterId(f[0], 'clusterId'),
    masterId: readNodeId(f[1], 'masterId'),
    masterAddress: readAddress(f[2], 'masterAddress'),
    masterJoinVersion: readUint(f[3], 'masterJoinVersion'),
    memberCount: readUint(f[4], 'memberCount'),
    viewVersion: readUint(f[5], 'viewVersion'),
  };
  return f.length === 7 ? { ...summary, members: readArray(f[6], 'members', MEMBERS_MAX, readNodeId) } : summary;
}

/** A non-empty cluster id of at most CLUSTER_ID_BYTES_MAX bytes. */
export function readClusterId(v: unknown, path: string): string {
  return readString(v, path, CLUSTER_ID_BYTES_MAX, 1);
}

// ---------------------------------------------------------------------------------------
// SWIM: push-pull entries and gossip updates
// ---------------------------------------------------------------------------------------

/** PushPullEntry: `[nodeId, address, incarnation, state, tags]`. */
export function entryToWire(e: PushPullEntry): unknown {
  return recordToWire(e, (r) => [
    r.nodeId,
    r.address,
    r.incarnation,
    enumToWire(r.state, SWIM_STATE_CODES),
    tagsToWire(r.tags),
  ]);
}

/** Check and rebuild a PushPullEntry. */
export function readEntry(v: unknown): PushPullEntry {
  const f = readFields(v, 5);
  return {
    nodeId: readNodeId(f[0], 'nodeId'),
    address: readAddress(f[1], 'address'),
    incarnation: readUint32(f[2], 'incarnation'),
    state: readEnum(f[3], 'state', SWIM_STATE_CODES),
    tags: readTags(f[4], 'tags'),
  };
}

/** Number of fields of each update type, not counting the type code. */
export const UPDATE_ARITY = { Suspect: 3, Alive: 4, Dead: 4 } as const;

/**
 * Fields of a Suspect, Alive or Dead, preceded by `code` when one is given (a piggybacked
 * update carries its type code; the standalone message does not).
 */
export function updateFieldsToWire(u: GossipUpdate, code?: number): unknown[] {
  const fields: unknown[] = code === undefined ? [] : [code];
  switch (u.type) {
    case 'Suspect':
      fields.push(u.node, u.incarnation, u.from);
      break;
    case 'Alive':
      fields.push(u.node, u.incarnation, u.address, tagsToWire(u.tags));
      break;
    case 'Dead':
      fields.push(u.node, u.incarnation, u.from, u.left);
      break;
  }
  return fields;
}

/** Suspect fields starting at `f[o]`. */
export function readSuspectAt(f: readonly unknown[], o: number): Suspect {
  return {
    type: 'Suspect',
    node: readNodeId(f[o], 'node'),
    incarnation: readUint32(f[o + 1], 'incarnation'),
    from: readNodeId(f[o + 2], 'from'),
  };
}

/** Alive fields starting at `f[o]`. */
export function readAliveAt(f: readonly unknown[], o: number): Alive {
  return {
    type: 'Alive',
    node: readNodeId(f[o], 'node'),
    incarnation: readUint32(f[o + 1], 'incarnation'),
    address: readAddress(f[o + 2], 'address'),
    tags: readTags(f[o + 3], 'tags'),
  };
}

/** Dead fields starting at `f[o]`. */
export function readDeadAt(f: readonly unknown[], o: number): Dead {
  return {
    type: 'Dead',
    node: readNodeId(f[o], 'node'),
    incarnation: readUint32(f[o + 1], 'incarnation'),
    from: readNodeId(f[o + 2], 'from'),
    left: readBool(f[o + 3], 'left'),
  };
}

/** A piggybacked update: `[typeCode, ...fields]`. */
export function updateToWire(u: GossipUpdate): unknown {
  if (typeof u !== 'object' || u === null || !Object.hasOwn(UPDATE_ARITY, u.type)) return u;
  return updateFieldsToWire(u, MESSAGE_TYPE_CODES[u.type]);
}

/** Check and rebuild a piggybacked gossip update. */
export function readUpdate(v: unknown): GossipUpdate {
  if (!Array.isArray(v) || v.length === 0) invalid('', 'a gossip update');
  const f = v as readonly unknown[];
  switch (f[0]) {
    case MESSAGE_TYPE_CODES.Suspect:
      return readSuspectAt(readFields(f, 1 + UPDATE_ARITY.Suspect), 1);
    case MESSAGE_TYPE_CODES.Alive:
      return readAliveAt(readFields(f, 1 + UPDATE_ARITY.Alive), 1);
    case MESSAGE_TYPE_CODES.Dead:
      return readDeadAt(readFields(f, 1 + UPDATE_ARITY.Dead), 1);
    default:
      return invalid('', 'a Suspect, Alive or Dead update');
  }
}
