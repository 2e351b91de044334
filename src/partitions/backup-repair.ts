/**
 * Balance repair for backup placement. The greedy fill can corner itself: a member still
 * under quota may already hold a replica of every partition with a free slot, so a slot
 * went to a member over quota instead. Repair finds augmenting paths (u takes v1's slot,
 * v1 takes v2's, ..., the last one taken from the over-quota member) and, to keep
 * movement minimal, first looks only among slots placed in this run.
 */
import { type Placement, sharesZone, valid, zonesExhausted } from './placement-state.js';

/** Which slots a repair pass may reassign, and whether it must keep zones apart. */
interface RepairPass {
  readonly freshOnly: boolean;
  readonly keepZones: boolean;
}

const passes: readonly RepairPass[] = [
  { freshOnly: true, keepZones: true },
  { freshOnly: true, keepZones: false },
  { freshOnly: false, keepZones: true },
  { freshOnly: false, keepZones: false },
];

/** Bring every member to its quota where any sequence of slot swaps allows it. */
export function repairBalance(state: Placement): void {
  const { count, quota, input } = state;
  const anyOver = (): boolean => count.some((c, m) => c > quota[m]!);
  for (const pass of passes) {
    if (!anyOver()) return;
    const slots = candidateSlots(state, pass.freshOnly);
    for (let u = 0; u < input.n; u++) {
      // Each augmentation moves one unit from an over- to an under-quota member.
      while (count[u]! < quota[u]! && augment(state, u, slots, pass.keepZones)) {
        if (!anyOver()) return;
      }
    }
  }
}

/** Slots as (partition, index) pairs: all of them, or only those not held before this run. */
function candidateSlots(state: Placement, freshOnly: boolean): Int32Array {
  const { lists, input } = state;
  const out: number[] = [];
  for (let p = 0; p < lists.length; p++) {
    const list = lists[p]!;
    for (let i = 0; i < list.length; i++) {
      const m = list[i]!;
      if (freshOnly && (input.prevOwner[p] === m || input.prevBackups[p]!.includes(m))) continue;
      out.push(p, i);
    }
  }
  return Int32Array.from(out);
}

/**
 * Breadth-first search from under-quota `u` over members: an edge x -> v is a slot of v
 * in a partition x may hold. Reaching an over-quota member closes the path, which is
 * then applied from its end. Returns false when no path exists.
 */
function augment(state: Placement, u: number, slots: Int32Array, keepZones: boolean): boolean {
  const { input, lists, count, quota } = state;
  const cameFrom = new Int32Array(input.n).fill(-2);
  const viaSlot = new Int32Array(input.n);
  cameFrom[u] = -1;
  const queue = [u];
  for (let head = 0; head < queue.length; head++) {
    const x = queue[head]!;
    for (let s = 0; s < slots.length; s += 2) {
      const p = slots[s]!;
      const i = slots[s + 1]!;
      const v = lists[p]![i]!;
      if (cameFrom[v] !== -2 || !valid(state, p, x)) continue;
      if (keepZones && sharesZone(state, p, x, i) && !sharesZone(state, p, v, i)) continue;
      cameFrom[v] = x;
      viaSlot[v] = s;
      if (count[v]! > quota[v]!) return applyPath(state, v, cameFrom, viaSlot, slots);
      queue.push(v);
    }
  }
  return false;
}

/** Walk back from over-quota `w`, each member taking the slot of the next; undo if a partition would repeat a node. */
function applyPath(state: Placement, w: number, cameFrom: Int32Array, viaSlot: Int32Array, slots: Int32Array): boolean {
  const { lists, count, input } = state;
  const undo: [number, number, number][] = [];
  let v = w;
  while (cameFrom[v]! >= 0) {
    const s = viaSlot[v]!;
    const p = slots[s]!;
    const i = slots[s + 1]!;
    undo.push([p, i, lists[p]![i]!]);
    lists[p]![i] = cameFrom[v]!;
    v = cameFrom[v]!;
  }
  const touched = new Set(undo.map(([p]) => p));
  for (const p of touched) {
    const list = lists[p]!;
    if (new Set(list).size !== list.length || list.includes(input.owner[p]!)) {
      for (const [q, i, m] of undo.reverse()) lists[q]![i] = m;
      return false;
    }
  }
  count[w]!--;
  count[v]!++;
  return true;
}

/**
 * Bound on the slot pairs `repairZones` examines: zones that cannot be kept apart (one
 * zone much bigger than the rest) would otherwise cost a scan of every slot per clash.
 */
export const zoneRepairStepsMax = 1 << 16;

/**
 * Swap backups between two partitions where that separates zones: `p` has a backup `w`
 * sharing a zone with another replica although some zone is unused; find a slot of
 * another partition `q` whose member `v` fits `p` and where `w` fits `q` no worse. Counts
 * stay the same. This heals clashes left by earlier assignments (zones that were uneven
 * for a while), at the price of two copies per swap.
 */
export function repairZones(state: Placement): void {
  const { lists, input } = state;
  if (input.zoneCount <= 1) return;
  // Clashes of one zone shape look for the same kind of partner, so each shape resumes
  // its search where the last one stopped instead of rescanning; a shape whose search
  // went all the way round without a partner is skipped from then on.
  const resumeAt = new Map<string, number>();
  let steps = 0;
  for (let p = 0; p < lists.length; p++) {
    for (let i = 0; i < lists[p]!.length; i++) {
      if (!sharesZone(state, p, lists[p]![i]!, i) || zonesExhausted(state, p, i)) continue;
      const shape = zoneShape(state, p, i);
      const start = resumeAt.get(shape) ?? p;
      if (start < 0) continue;
      const found = findZoneSwap(state, p, i, start, zoneRepairStepsMax - steps);
      resumeAt.set(shape, found.partner);
      steps += found.steps;
      if (steps >= zoneRepairStepsMax) return;
    }
  }
}

/** The clashing member's zone and the zones of the other replicas of `p`, as a key. */
function zoneShape(state: Placement, p: number, i: number): string {
  const { zone, owner } = state.input;
  const list = state.lists[p]!;
  const others = [zone[owner[p]!]!];
  list.forEach((m, j) => {
    if (j !== i) others.push(zone[m]!);
  });
  return `${zone[list[i]!]!}|${others.sort((a, b) => a - b).join(',')}`;
}

/**
 * Look for a partner slot for `(p, i)` in the partitions after `start`, once round; swap
 * if found. Returns the partner partition (-1 when none) and the slots examined.
 */
function findZoneSwap(state: Placement, p: number, i: number, start: number, budget: number): { steps: number; partner: number } {
  const { lists } = state;
  const w = lists[p]![i]!;
  let steps = 0;
  for (let k = 0; k < lists.length; k++) {
    const q = (start + k) % lists.length;
    if (q === p) continue;
    const listQ = lists[q]!;
    for (let j = 0; j < listQ.length; j++) {
      if (++steps >= budget) return { steps, partner: q };
      const v = listQ[j]!;
      if (!valid(state, p, v) || sharesZone(state, p, v, i)) continue;
      if (!valid(state, q, w) || (sharesZone(state, q, w, j) && !sharesZone(state, q, v, j))) continue;
      lists[p]![i] = v;
      listQ[j] = w;
      return { steps, partner: q };
    }
  }
  return { steps, partner: -1 };
}
