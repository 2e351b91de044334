/**
 * Rebalance planning: the exact list of replica-slot changes that turns one assignment
 * into another. Each move names one slot of one partition (0 = owner, 1.. = backups),
 * what it held and what it will hold, and what that means for data: whether the
 * destination needs a copy and whether the source gives up its replica.
 */
import { assert } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { assignmentEntries, NO_OWNER, type AssignmentInput, type ReplicaAssignment } from './assignment.js';

/**
 * What a move does, from the data's point of view:
 * - `copy`: the destination gets a new replica; the source (if any) keeps one elsewhere.
 * - `move`: the destination gets a new replica and the source gives its replica up.
 * - `promote`: a node that already holds a replica becomes the owner.
 * - `demote`: the current owner becomes a backup.
 * - `shift`: a backup changes index (no data moves).
 * - `vacate`: a trailing slot disappears; its node keeps a replica at another index.
 * - `drop`: a trailing slot disappears and its node gives its replica up.
 */
export type MoveKind = 'copy' | 'move' | 'promote' | 'demote' | 'shift' | 'vacate' | 'drop';

/** One replica slot of one partition changing hands. */
export interface RebalanceMove {
  readonly partition: number;
  /** 0 = owner, 1.. = backup index + 1 (promotion order). */
  readonly replicaIndex: number;
  /** Node that held the slot, or undefined when the slot is new. */
  readonly source: NodeId | undefined;
  /** Node that will hold the slot, or undefined when the slot is dropped. */
  readonly destination: NodeId | undefined;
  readonly kind: MoveKind;
  /** The destination holds no replica of the partition yet: the data must be copied to it. */
  readonly needsData: boolean;
  /** The source holds no replica of the partition in the target: it releases its copy. */
  readonly releasesSource: boolean;
  /**
   * For `needsData` moves, the node the data is streamed from: the current owner (it has
   * the freshest data), else the first current backup, else undefined (no replica is
   * left anywhere and the new one starts empty).
   */
  readonly dataSource: NodeId | undefined;
}

/** Replica slots of an assignment: `[owner, ...backups]`, the owner undefined when there is none. */
export function replicaSlots(entry: ReplicaAssignment | undefined): (NodeId | undefined)[] {
  if (entry === undefined) return [];
  const slots: (NodeId | undefined)[] = [entry.owner === NO_OWNER ? undefined : entry.owner, ...entry.backups];
  while (slots.length > 0 && slots[slots.length - 1] === undefined) slots.pop();
  return slots;
}

function byPartition(input: AssignmentInput): Map<number, ReplicaAssignment> {
  const map = new Map<number, ReplicaAssignment>();
  for (const entry of assignmentEntries(input)) map.set(entry.partition, entry);
  return map;
}

/** True when entry `i` is partition `i` throughout (a table's data form, an assignment). */
function isDense(entries: readonly ReplicaAssignment[]): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i]!.partition !== i) return false;
  return true;
}

/**
 * Every move needed to go from `current` to `target`, sorted by partition then replica
 * index; empty when they are equal. Applying the moves slot by slot (`applyMoves`) to
 * `current` yields `target`. A partition present on one side only is planned against
 * an empty replica set.
 */
export function planRebalance(current: AssignmentInput, target: AssignmentInput): RebalanceMove[] {
  const beforeEntries = assignmentEntries(current);
  const afterEntries = assignmentEntries(target);
  const moves: RebalanceMove[] = [];
  // Tables and assignments list partition p at index p: walk them side by side, no maps.
  if (isDense(beforeEntries) && isDense(afterEntries)) {
    const count = Math.max(beforeEntries.length, afterEntries.length);
    for (let p = 0; p < count; p++) planIfChanged(p, beforeEntries[p], afterEntries[p], moves);
    return moves;
  }
  const before = byPartition(beforeEntries);
  const after = byPartition(afterEntries);
  const partitions = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => a - b);
  for (const partition of partitions) planIfChanged(partition, before.get(partition), after.get(partition), moves);
  return moves;
}

/** Plan one partition, skipping (without allocating) one whose replicas stay as they are, as most do. */
function planIfChanged(partition: number, from: ReplicaAssignment | undefined, to: ReplicaAssignment | undefined, out: RebalanceMove[]): void {
  if (from !== undefined && to !== undefined && from.owner === to.owner && sameList(from.backups, to.backups)) return;
  planPartition(partition, replicaSlots(from), replicaSlots(to), out);
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function planPartition(partition: number, from: readonly (NodeId | undefined)[], to: readonly (NodeId | undefined)[], out: RebalanceMove[]): void {
  const heldBefore = new Set(from.filter((n): n is NodeId => n !== undefined));
  const heldAfter = new Set(to.filter((n): n is NodeId => n !== undefined));
  const dataSource = from.find((n) => n !== undefined);
  const slotCount = Math.max(from.length, to.length);
  for (let replicaIndex = 0; replicaIndex < slotCount; replicaIndex++) {
    const source = from[replicaIndex];
    const destination = to[replicaIndex];
    if (source === destination) continue;
    const needsData = destination !== undefined && !heldBefore.has(destination);
    const releasesSource = source !== undefined && !heldAfter.has(source);
    out.push({
      partition,
      replicaIndex,
      source,
      destination,
      kind: kindOf(replicaIndex, destination, needsData, releasesSource, from[0]),
      needsData,
      releasesSource,
      dataSource: needsData ? dataSource : undefined,
    });
  }
}

function kindOf(
  replicaIndex: number,
  destination: NodeId | undefined,
  needsData: boolean,
  releasesSource: boolean,
  currentOwner: NodeId | undefined,
): MoveKind {
  if (destination === undefined) return releasesSource ? 'drop' : 'vacate';
  if (needsData) return releasesSource ? 'move' : 'copy';
  if (replicaIndex === 0) return 'promote';
  return destination === currentOwner ? 'demote' : 'shift';
}

/**
 * Apply moves slot by slot to an assignment (partitions without moves stay as they are).
 * Used to derive intermediate tables while a plan runs, and by tests to check a plan.
 */
export function applyMoves(current: AssignmentInput, moves: readonly RebalanceMove[]): ReplicaAssignment[] {
  const slots = new Map<number, (NodeId | undefined)[]>();
  for (const [partition, entry] of byPartition(current)) slots.set(partition, replicaSlots(entry));
  for (const move of moves) {
    let list = slots.get(move.partition);
    if (list === undefined) {
      list = [];
      slots.set(move.partition, list);
    }
    while (list.length <= move.replicaIndex) list.push(undefined);
    list[move.replicaIndex] = move.destination;
  }
  const result: ReplicaAssignment[] = [];
  for (const partition of [...slots.keys()].sort((a, b) => a - b)) {
    const list = slots.get(partition)!;
    while (list.length > 0 && list[list.length - 1] === undefined) list.pop();
    const backups = list.slice(1);
    assert(backups.every((b) => b !== undefined), `partition ${partition} has a gap among its backups`);
    result.push({ partition, owner: list[0] ?? NO_OWNER, backups: backups as NodeId[] });
  }
  return result;
}
