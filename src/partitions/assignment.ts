/**
 * Partition assignment: a pure function from the assignable members (and the previous
 * assignment) to an owner and backups for every partition. Balanced, zone-aware for
 * backups, and moving as little as balance allows; the algorithm is described in
 * docs/partitions.md.
 */
import { assert, FlotillaError } from '../core/errors.js';
import type { MemberStatus, NodeId, PartitionTableData, Tags } from '../core/model.js';
import { placeBackups } from './backup-placement.js';
import { DeficitRing } from './deficit-ring.js';
import { balancedQuotas, byKeyDescending } from './quotas.js';

/** Tag naming a member's failure zone (rack, availability zone); backups prefer other zones. */
export const ZONE_TAG = 'zone';

/**
 * Tag that takes a member out of placement: with the value `PLACEMENT_NONE` the master
 * places no replica on it and moves what it holds away (etcd mode: a runner that lost its
 * lease says so with it), until the tag goes.
 */
export const PLACEMENT_TAG = 'placement';
/** The `PLACEMENT_TAG` value that asks for no replicas. */
export const PLACEMENT_NONE = 'none';

/** What assignment needs from a member. A `MemberRecord` fits; without a status the member counts as active. */
export interface AssignableMember {
  readonly nodeId: NodeId;
  readonly tags?: Tags;
  readonly status?: MemberStatus;
}

/** Who holds one partition: its owner and its backups in promotion order. Epochs are the table's job. */
export interface ReplicaAssignment {
  readonly partition: number;
  readonly owner: NodeId;
  readonly backups: readonly NodeId[];
}

/** An assignment given as input: a list of replica assignments or a partition table's data form. */
export type AssignmentInput = readonly ReplicaAssignment[] | Pick<PartitionTableData, 'assignments'>;

/**
 * Owner marker of a partition that has no owner (its owner died with no live backup to
 * promote). The wire shape needs a string; no node id is empty, so this cannot collide.
 */
export const NO_OWNER: NodeId = '';

/** The entries of an assignment input, whichever form it came in. */
export function assignmentEntries(input: AssignmentInput): readonly ReplicaAssignment[] {
  return 'assignments' in input ? input.assignments : input;
}

/** Members in rank order with their zones, as integers so the hot loops index arrays. */
interface RankedMembers {
  readonly ids: readonly NodeId[];
  readonly rankOf: ReadonlyMap<NodeId, number>;
  readonly zone: Int32Array;
  readonly zoneCount: number;
}

/**
 * Assign every partition an owner and `min(backupCount, N - 1)` backups among the
 * active members.
 *
 * - Deterministic: members are ranked by node id (then interleaved by zone), so input
 *   order does not matter.
 * - Balanced: each member owns `floor(P/N)` or `ceil(P/N)` partitions; the extra ones go
 *   to the members that own the most in `previous` (counting the partitions they are
 *   about to get by promotion), then to the lower rank. Backup slots are balanced the
 *   same way (`floor`/`ceil` of `P*B/N`).
 * - Minimal movement: an owner or backup in `previous` that is still a member stays
 *   unless its member is over quota; a partition whose owner left goes to its first
 *   backup with room (else another backup with room), which is what failover needs.
 * - Zones: when members carry a `zone` tag, new backups go to zones not yet holding the
 *   partition, falling back to any zone when there are not enough zones or room; backups
 *   sharing a zone are swapped between partitions when that separates them.
 *
 * See docs/partitions.md for the algorithm and its costs.
 *
 * Zero assignable members is an error rather than an empty result: a table with no
 * owners cannot serve anything, and the caller (the master) is itself a member.
 *
 * @throws FlotillaError FLO_ASSIGNMENT_INVALID when there is no active member, or when
 *   `previous` names a partition outside `0..partitionCount-1` or one twice.
 * @throws FlotillaError FLO_INVALID_ARGUMENT on bad counts or duplicate node ids.
 */
export function computeAssignment(
  members: readonly AssignableMember[],
  partitionCount: number,
  backupCount: number,
  previous?: AssignmentInput,
): ReplicaAssignment[] {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `partitionCount must be a positive integer, got ${String(partitionCount)}`);
  }
  if (!Number.isSafeInteger(backupCount) || backupCount < 0) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `backupCount must be a non-negative integer, got ${String(backupCount)}`);
  }
  const ranked = rankMembers(members);
  const n = ranked.ids.length;
  if (n === 0) throw new FlotillaError('FLO_ASSIGNMENT_INVALID', 'no active member to assign partitions to');
  const { prevOwner, prevBackups } = readPrevious(previous, ranked.rankOf, partitionCount);
  const owner = placeOwners(ranked, partitionCount, prevOwner, prevBackups);
  const backups = placeBackups({
    n,
    partitionCount,
    backupCount: Math.min(backupCount, n - 1),
    owner,
    prevOwner,
    prevBackups,
    zone: ranked.zone,
    zoneCount: ranked.zoneCount,
  });
  const result: ReplicaAssignment[] = new Array<ReplicaAssignment>(partitionCount);
  for (let p = 0; p < partitionCount; p++) {
    result[p] = { partition: p, owner: ranked.ids[owner[p]!]!, backups: backups[p]!.map((m) => ranked.ids[m]!) };
  }
  return result;
}

/**
 * Rank the active members: sort by node id (plain string comparison), group by zone
 * (zones sorted the same way; untagged members share the zone ""), then interleave the
 * zones round-robin. Neighbours in rank order are then in different zones, so the
 * round-robin placements below spread replicas across zones from the start.
 */
function rankMembers(members: readonly AssignableMember[]): RankedMembers {
  const seen = new Set<NodeId>();
  const byZone = new Map<string, NodeId[]>();
  for (const m of members) {
    if (m.nodeId === NO_OWNER) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'member node id must be a non-empty string');
    if (seen.has(m.nodeId)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `duplicate node id: ${m.nodeId}`, { nodeId: m.nodeId });
    seen.add(m.nodeId);
    if (m.status !== undefined && m.status !== 'active') continue;
    const zoneName = m.tags?.[ZONE_TAG] ?? '';
    const list = byZone.get(zoneName);
    if (list === undefined) byZone.set(zoneName, [m.nodeId]);
    else list.push(m.nodeId);
  }
  const zoneNames = [...byZone.keys()].sort(compareStrings);
  const lists = zoneNames.map((z) => byZone.get(z)!.sort(compareStrings));
  const ids: NodeId[] = [];
  const zoneOfRank: number[] = [];
  const longest = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    for (let z = 0; z < lists.length; z++) {
      const id = lists[z]![i];
      if (id === undefined) continue;
      ids.push(id);
      zoneOfRank.push(z);
    }
  }
  const rankOf = new Map<NodeId, number>();
  ids.forEach((id, rank) => rankOf.set(id, rank));
  return { ids, rankOf, zone: Int32Array.from(zoneOfRank), zoneCount: zoneNames.length };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The previous backups of a partition that had none (shared: nothing downstream edits these lists). */
const NO_BACKUPS: readonly number[] = Object.freeze([]);

/** Previous owners and backups as member ranks; non-members become -1 (owner) or are left out (backups). */
function readPrevious(
  previous: AssignmentInput | undefined,
  rankOf: ReadonlyMap<NodeId, number>,
  partitionCount: number,
): { prevOwner: Int32Array; prevBackups: (readonly number[])[] } {
  const prevOwner = new Int32Array(partitionCount).fill(-1);
  const prevBackups = new Array<readonly number[]>(partitionCount).fill(NO_BACKUPS);
  if (previous === undefined) return { prevOwner, prevBackups };
  const entries = assignmentEntries(previous);
  const seen = new Uint8Array(partitionCount);
  for (const entry of entries) {
    const p = entry.partition;
    if (!Number.isSafeInteger(p) || p < 0 || p >= partitionCount) {
      throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `previous assignment names partition ${String(p)} outside 0..${partitionCount - 1}`);
    }
    if (seen[p] === 1) throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `previous assignment names partition ${p} twice`);
    seen[p] = 1;
    const ownerRank = rankOf.get(entry.owner) ?? -1;
    prevOwner[p] = ownerRank;
    let list: number[] | undefined;
    for (const b of entry.backups) {
      const rank = rankOf.get(b);
      if (rank === undefined || rank === ownerRank) continue;
      if (list === undefined) list = [rank];
      else if (!list.includes(rank)) list.push(rank);
    }
    if (list !== undefined) prevBackups[p] = list;
  }
  return { prevOwner, prevBackups };
}

/**
 * Owners: keep every previous owner that is still a member, then bring each member to
 * its quota. Partitions without an owner go first to a backup with room (a promotion:
 * the data is already there); over-quota members hand partitions to a backup with room
 * where they can, else release them (first those sharing a zone with a backup); what is
 * left is dealt round-robin to the members still under quota, preferring one whose zone
 * no remaining backup of the partition uses.
 */
function placeOwners(ranked: RankedMembers, partitionCount: number, prevOwner: Int32Array, prevBackups: readonly (readonly number[])[]): Int32Array {
  const n = ranked.ids.length;
  const owner = new Int32Array(prevOwner);
  const count = new Int32Array(n);
  const demand = new Int32Array(n);
  for (let p = 0; p < partitionCount; p++) {
    if (owner[p]! >= 0) count[owner[p]!]!++;
    else if (prevBackups[p]!.length > 0) demand[prevBackups[p]![0]!]!++;
  }
  // Extra partitions go where they are already owned, or about to be by promotion.
  const held = new Int32Array(n);
  for (let m = 0; m < n; m++) held[m] = count[m]! + demand[m]!;
  const quota = balancedQuotas(partitionCount, byKeyDescending(held));
  const room = (m: number): boolean => count[m]! < quota[m]!;
  const over = (m: number): boolean => m >= 0 && count[m]! > quota[m]!;
  const move = (p: number, to: number): void => {
    const from = owner[p]!;
    if (from >= 0) count[from]!--;
    owner[p] = to;
    if (to >= 0) count[to]!++;
  };
  const promote = (p: number, firstOnly: boolean): void => {
    const backups = prevBackups[p]!;
    const backup = firstOnly ? backups.slice(0, 1).find(room) : backups.find(room);
    if (backup !== undefined) move(p, backup);
  };
  // First backups before any other, so a later backup's room is not spent ahead of its own promotions.
  for (let p = 0; p < partitionCount; p++) if (owner[p]! < 0) promote(p, true);
  for (let p = 0; p < partitionCount; p++) if (owner[p]! < 0) promote(p, false);
  for (let p = 0; p < partitionCount; p++) if (over(owner[p]!)) promote(p, false);
  const sharesZoneWithBackup = (p: number): boolean => prevBackups[p]!.some((b) => ranked.zone[b] === ranked.zone[owner[p]!]);
  if (ranked.zoneCount > 1) for (let p = 0; p < partitionCount; p++) if (over(owner[p]!) && sharesZoneWithBackup(p)) move(p, -1);
  for (let p = 0; p < partitionCount; p++) if (over(owner[p]!)) move(p, -1);
  dealOwners(ranked, owner, count, quota, prevBackups);
  return owner;
}

/** Give every ownerless partition a member under quota, round-robin, avoiding its backups' zones when possible. */
function dealOwners(ranked: RankedMembers, owner: Int32Array, count: Int32Array, quota: Int32Array, prevBackups: readonly (readonly number[])[]): void {
  const ring = new DeficitRing(ranked.ids.length, (m) => count[m]! < quota[m]!);
  let cursor = ring.head();
  for (let p = 0; p < owner.length; p++) {
    if (owner[p]! >= 0) continue;
    assert(cursor >= 0, 'owner quotas sum to the partition count');
    let pick = cursor;
    const backups = prevBackups[p]!;
    if (ranked.zoneCount > 1 && backups.length > 0) {
      const clashes = (m: number): boolean => backups.some((b) => b !== m && ranked.zone[b] === ranked.zone[m]);
      for (let steps = 0; clashes(pick) && steps < ring.size; steps++) pick = ring.next(pick);
      if (clashes(pick)) pick = cursor;
    }
    owner[p] = pick;
    count[pick]!++;
    if (count[pick]! >= quota[pick]!) ring.remove(pick);
    if (pick === cursor) cursor = ring.next(cursor);
  }
}
