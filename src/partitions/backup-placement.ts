/**
 * Backup placement, the second half of assignment: given the owners, give every
 * partition its backups so that backup slots are balanced across members, spread across
 * zones, spread per owner (so a dead owner's partitions are promoted onto many members,
 * not one), and kept where they were whenever still valid. Internal to `assignment.ts`.
 */
import { assert } from '../core/errors.js';
import { repairBalance, repairZones } from './backup-repair.js';
import { DeficitRing } from './deficit-ring.js';
import { balancedQuotas, byKeyDescending } from './quotas.js';
import { type BackupPlacementInput, type Placement, sharesZone, valid, zonesExhausted } from './placement-state.js';

/** Backups per partition, as member ranks in promotion order. */
export function placeBackups(input: BackupPlacementInput): number[][] {
  const { n, partitionCount, backupCount } = input;
  // Plain loops rather than Array.from/TypedArray.from with a callback: several times faster at thousands.
  const lists = new Array<number[]>(partitionCount);
  if (backupCount === 0) {
    for (let p = 0; p < partitionCount; p++) lists[p] = [];
    return lists;
  }
  const count = new Int32Array(n);
  keepPrevious(input, lists, count);
  const quota = backupQuotas(input, count);
  const state: Placement = {
    input,
    lists,
    count,
    quota,
    ring: new DeficitRing(n, (m) => count[m]! < quota[m]!),
    cursorAfter: identity(n),
  };
  handOff(state, 'clashing');
  handOff(state, 'keep-zones');
  handOff(state, 'any');
  shedOverQuota(state);
  fill(state);
  repairBalance(state);
  repairZones(state);
  return lists;
}

/** `[0, 1, ..., n - 1]`. */
function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let m = 0; m < n; m++) out[m] = m;
  return out;
}

/**
 * Keep every previous backup that is still a member and not the owner, in its order;
 * then, if a slot is free, the previous owner when it lost ownership but is still a
 * member (it holds the data, so a swap of owner and backup moves nothing).
 */
function keepPrevious(input: BackupPlacementInput, lists: number[][], count: Int32Array): void {
  for (let p = 0; p < input.partitionCount; p++) {
    const owner = input.owner[p]!;
    const previous = input.prevBackups[p]!;
    let list: number[];
    // Usually every previous backup stays: copy the list at its size (a push onto an empty
    // array reserves room for 16, thousands of times per call).
    if (previous.length <= input.backupCount && !previous.includes(owner)) {
      list = previous.slice();
    } else {
      list = [];
      for (const b of previous) if (list.length < input.backupCount && b !== owner) list.push(b);
    }
    lists[p] = list;
    const formerOwner = input.prevOwner[p]!;
    if (list.length < input.backupCount && formerOwner >= 0 && formerOwner !== owner && !list.includes(formerOwner)) {
      list.push(formerOwner);
    }
    for (const b of list) count[b]!++;
  }
}

/**
 * Backup quotas: `floor`/`ceil` of `P * B / N`, never more than the partitions a member
 * does not own. Extra slots go to members that already hold the most (least movement),
 * then to members that own fewer partitions (keeps the total load even), then by rank.
 */
function backupQuotas(input: BackupPlacementInput, count: Int32Array): Int32Array {
  const { n, partitionCount, backupCount, owner } = input;
  const owned = new Int32Array(n);
  for (let p = 0; p < partitionCount; p++) owned[owner[p]!]!++;
  const cap = new Int32Array(n);
  for (let m = 0; m < n; m++) cap[m] = partitionCount - owned[m]!;
  return balancedQuotas(partitionCount * backupCount, byKeyDescending(count, owned), cap);
}

/**
 * Which kept slots of over-quota members `handOff` moves, and where to:
 * - `clashing`: slots sharing a zone with another replica, to members in a new zone;
 * - `keep-zones`: any slot, to a member that adds no zone clash;
 * - `any`: any slot, to any member that may hold it.
 */
type HandOffPass = 'clashing' | 'keep-zones' | 'any';

/** Move kept slots of over-quota members straight to members under quota that can take them (one copy, no gap). */
function handOff(state: Placement, pass: HandOffPass): void {
  const { lists, count, quota, ring } = state;
  for (let p = 0; p < lists.length && ring.size > 0; p++) {
    const list = lists[p]!;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (count[w]! <= quota[w]!) continue;
      const clashing = sharesZone(state, p, w, i);
      if (pass === 'clashing' && !clashing) continue;
      const u = pickFromRing(state, p, i, pass !== 'any' && !(pass === 'keep-zones' && clashing));
      if (u < 0) continue;
      list[i] = u;
      count[w]!--;
      take(state, u);
    }
  }
}

/** Drop the kept slots over-quota members still hold; `fill` places them again. */
function shedOverQuota(state: Placement): void {
  const { lists, count, quota } = state;
  for (let p = 0; p < lists.length; p++) {
    const list = lists[p]!;
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      if (count[m]! <= quota[m]!) continue;
      list.splice(i, 1);
      count[m]!--;
    }
  }
}

/** Count a new slot for `m`, leaving the ring once it reaches its quota. */
function take(state: Placement, m: number): void {
  state.count[m]!++;
  if (state.count[m]! >= state.quota[m]!) state.ring.remove(m);
}

/** Fill free slots round-robin over the members still under quota (see `cursorAfter`). */
function fill(state: Placement): void {
  const { input, lists, cursorAfter } = state;
  for (let p = 0; p < input.partitionCount; p++) {
    const list = lists[p]!;
    let firstPicked = -1;
    while (list.length < input.backupCount) {
      let pick = pickFromRing(state, p, -1, false);
      if (pick < 0) pick = pickLeastLoaded(state, p);
      list.push(pick);
      take(state, pick);
      if (firstPicked < 0) firstPicked = pick;
    }
    if (firstPicked >= 0) cursorAfter[input.owner[p]!] = firstPicked;
  }
}

/**
 * A member under quota for slot `slot` of `p` (-1: a new slot), walking the ring from
 * the owner's cursor: the first valid member in a zone `p` does not use yet, else (unless
 * `zoneRequired`) the first valid one, else -1.
 */
function pickFromRing(state: Placement, p: number, slot: number, zoneRequired: boolean): number {
  const { ring } = state;
  if (ring.size === 0) return -1;
  const anyZone = zonesExhausted(state, p, slot);
  let firstValid = -1;
  let candidate = ring.next(state.cursorAfter[state.input.owner[p]!]!);
  for (let steps = 0; steps < ring.size; steps++) {
    if (valid(state, p, candidate)) {
      if (anyZone || !sharesZone(state, p, candidate, slot)) return candidate;
      if (firstValid < 0) firstValid = candidate;
    }
    candidate = ring.next(candidate);
  }
  return zoneRequired ? -1 : firstValid;
}

/** When no member under quota can take `p`: the valid member least over its quota, new zone first. */
function pickLeastLoaded(state: Placement, p: number): number {
  let best = -1;
  let bestKey = Number.POSITIVE_INFINITY;
  for (let m = 0; m < state.input.n; m++) {
    if (!valid(state, p, m)) continue;
    const key = (state.count[m]! - state.quota[m]!) * 2 + (sharesZone(state, p, m, -1) ? 1 : 0);
    if (key < bestKey) {
      best = m;
      bestKey = key;
    }
  }
  assert(best >= 0, 'effective backup count is below the member count');
  return best;
}

