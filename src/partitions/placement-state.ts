/**
 * The working state backup placement and its repair pass share, and the small
 * per-partition predicates both ask (may this member hold a backup here, does it share a
 * zone with another replica). Internal to assignment; members are ranks `0..n-1`.
 */
import type { DeficitRing } from './deficit-ring.js';

/** Everything backup placement reads. */
export interface BackupPlacementInput {
  readonly n: number;
  readonly partitionCount: number;
  /** Effective backups per partition: already `min(requested, n - 1)`. */
  readonly backupCount: number;
  readonly owner: Int32Array;
  readonly prevOwner: Int32Array;
  readonly prevBackups: readonly (readonly number[])[];
  readonly zone: Int32Array;
  readonly zoneCount: number;
}

/** Mutable working state of one placement. */
export interface Placement {
  readonly input: BackupPlacementInput;
  /** Backups per partition, in promotion order. */
  readonly lists: number[][];
  /** Backup slots each member holds. */
  readonly count: Int32Array;
  readonly quota: Int32Array;
  /** Members under quota. */
  readonly ring: DeficitRing;
  /**
   * Per owner, the member after which its next backup search starts; advanced past the
   * first backup picked for each of its partitions, so consecutive partitions of one
   * owner get different first backups and a dead owner's promotions spread out.
   */
  readonly cursorAfter: Int32Array;
}

/** True when `m` may hold a backup of `p`: not its owner and not already one of its backups. */
export function valid(state: Placement, p: number, m: number): boolean {
  return state.input.owner[p] !== m && !state.lists[p]!.includes(m);
}

/** True when `m` shares a zone with another replica of `p` (ignoring backup slot `skipIndex`, -1 for none). */
export function sharesZone(state: Placement, p: number, m: number, skipIndex: number): boolean {
  const { zone, owner, zoneCount } = state.input;
  if (zoneCount <= 1) return false;
  const z = zone[m]!;
  if (owner[p]! !== m && zone[owner[p]!] === z) return true;
  const list = state.lists[p]!;
  for (let i = 0; i < list.length; i++) {
    if (i !== skipIndex && list[i] !== m && zone[list[i]!] === z) return true;
  }
  return false;
}

/** True when every zone already holds a replica of `p` (ignoring slot `skipIndex`), so the zone preference cannot apply. */
export function zonesExhausted(state: Placement, p: number, skipIndex: number): boolean {
  const { zone, owner, zoneCount } = state.input;
  if (zoneCount <= 1) return true;
  const used = new Set<number>([zone[owner[p]!]!]);
  state.lists[p]!.forEach((b, i) => {
    if (i !== skipIndex) used.add(zone[b]!);
  });
  return used.size >= zoneCount;
}
