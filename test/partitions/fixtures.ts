// Shared helpers for the partition tests: member factories, per-member counts, and a
// replay simulator that applies migration waves step by step and checks the replica
// invariants after every step.
import type { MemberRecord, MemberStatus, NodeId } from '../../src/core/model.js';
import { type ReplicaAssignment, replicaSlots } from '../../src/partitions/index.js';
import type { MigrationStep } from '../../src/partitions/index.js';

/** A member record with sensible defaults. */
export function member(nodeId: NodeId, joinVersion = 0, status: MemberStatus = 'active', tags: Record<string, string> = {}): MemberRecord {
  return { nodeId, address: `${nodeId}.local:7000`, joinVersion, status, incarnation: 1, tags };
}

/** `n` assignable members `n000..`, optionally spread round-robin over `zones` zones. */
export function members(n: number, zones = 0, prefix = 'n'): { nodeId: NodeId; tags: Record<string, string> }[] {
  return Array.from({ length: n }, (_, i) => ({
    nodeId: `${prefix}${String(i).padStart(3, '0')}`,
    tags: zones > 0 ? { zone: `z${i % zones}` } : ({} as Record<string, string>),
  }));
}

/** Owned partitions and backup slots per node (every listed node starts at 0). */
export function loads(assignment: readonly ReplicaAssignment[], nodeIds: readonly NodeId[]): { owned: Map<NodeId, number>; backups: Map<NodeId, number> } {
  const owned = new Map<NodeId, number>(nodeIds.map((id) => [id, 0]));
  const backups = new Map<NodeId, number>(nodeIds.map((id) => [id, 0]));
  for (const a of assignment) {
    owned.set(a.owner, (owned.get(a.owner) ?? 0) + 1);
    for (const b of a.backups) backups.set(b, (backups.get(b) ?? 0) + 1);
  }
  return { owned, backups };
}

/** Check the structural invariants of an assignment over `nodeIds` with effective backups `b`. */
export function expectWellFormed(assignment: readonly ReplicaAssignment[], partitionCount: number, nodeIds: readonly NodeId[], b: number): void {
  check(assignment.length === partitionCount, `${assignment.length} entries for ${partitionCount} partitions`);
  const known = new Set(nodeIds);
  assignment.forEach((a, p) => {
    check(a.partition === p, `entry ${p} is for partition ${a.partition}`);
    check(known.has(a.owner), `partition ${p}: owner ${a.owner} is not a member`);
    check(a.backups.length === b, `partition ${p}: ${a.backups.length} backups, expected ${b}`);
    check(new Set([a.owner, ...a.backups]).size === b + 1, `partition ${p}: replicas repeat a node`);
    for (const x of a.backups) check(known.has(x), `partition ${p}: backup ${x} is not a member`);
  });
}

/** Every member's owned count is floor or ceil of P/N, and its backup slots floor or ceil of P*B/N. */
export function expectBalanced(assignment: readonly ReplicaAssignment[], partitionCount: number, nodeIds: readonly NodeId[], b: number): void {
  const { owned, backups } = loads(assignment, nodeIds);
  const n = nodeIds.length;
  const within = (counts: Map<NodeId, number>, total: number, what: string): void => {
    for (const [node, count] of counts) {
      check(count >= Math.floor(total / n) && count <= Math.ceil(total / n), `${node} holds ${count} ${what}, outside floor/ceil of ${total}/${n}`);
    }
  };
  within(owned, partitionCount, 'owned partitions');
  within(backups, partitionCount * b, 'backup slots');
}

/** Number of partitions whose owner differs. */
export function ownersMoved(before: readonly ReplicaAssignment[], after: readonly ReplicaAssignment[]): number {
  return after.filter((a, p) => before[p]!.owner !== a.owner).length;
}

/**
 * Apply `waves` to `current` and check the replica invariants after every single change.
 * Steps of one wave run concurrently, so the replay takes the worst order: every
 * metadata-only step (promote, demote, shift, vacate, drop) lands before any copy of the
 * same wave completes, and a data source must hold data from the start of the wave to its
 * end (unless it is the step's own source, which streams before it lets go). Checked
 * after each change: each partition keeps at least min(|before|, |after|) live replicas
 * and every node named in a slot holds data; per wave, no node takes part in more than
 * `parallelPerNodeMax` steps. At the end the slots must equal `target`. Returns the
 * number of steps applied.
 */
export function replayWaves(
  current: readonly ReplicaAssignment[],
  target: readonly ReplicaAssignment[],
  waves: readonly (readonly MigrationStep[])[],
  parallelPerNodeMax: number,
): number {
  const slots = new Map<number, (NodeId | undefined)[]>();
  const holders = new Map<number, Set<NodeId>>();
  const floor = new Map<number, number>();
  for (const a of current) {
    const s = replicaSlots(a);
    slots.set(a.partition, s);
    holders.set(a.partition, new Set(s.filter((x): x is NodeId => x !== undefined)));
  }
  for (const a of target) {
    const before = holders.get(a.partition)?.size ?? 0;
    floor.set(a.partition, Math.min(before, replicaSlots(a).filter((x) => x !== undefined).length));
  }
  const stateOf = (partition: number): { s: (NodeId | undefined)[]; held: Set<NodeId> } => {
    if (!slots.has(partition)) slots.set(partition, []);
    if (!holders.has(partition)) holders.set(partition, new Set());
    return { s: slots.get(partition)!, held: holders.get(partition)! };
  };
  const apply = (step: MigrationStep, where: string): void => {
    const { s, held } = stateOf(step.partition);
    check(s[step.replicaIndex] === step.source, `${where}: slot holds ${String(s[step.replicaIndex])}, step expects ${String(step.source)}`);
    if (step.needsData) held.add(step.destination!);
    while (s.length <= step.replicaIndex) s.push(undefined);
    s[step.replicaIndex] = step.destination;
    if (step.releasesSource) held.delete(step.source!);
    const min = floor.get(step.partition) ?? 0;
    check(held.size >= min, `${where}: ${held.size} live replicas, below ${min}`);
    for (const node of s) check(node === undefined || held.has(node), `${where}: ${String(node)} holds a slot without data`);
  };
  const holdsData = (step: MigrationStep): boolean =>
    step.dataSource === undefined || step.dataSource === step.source || stateOf(step.partition).held.has(step.dataSource);
  let applied = 0;
  waves.forEach((wave, w) => {
    const load = new Map<NodeId, number>();
    for (const step of wave) {
      check(step.wave === w, `wave ${w}: a step says wave ${step.wave}`);
      for (const node of new Set([step.source, step.destination, step.needsData ? step.dataSource : undefined])) {
        if (node !== undefined) load.set(node, (load.get(node) ?? 0) + 1);
      }
    }
    for (const [node, count] of load) check(count <= parallelPerNodeMax, `wave ${w}: ${node} takes part in ${count} steps`);
    const copies = wave.filter((step) => step.needsData);
    for (const step of copies) check(holdsData(step), `wave ${w}, partition ${step.partition}: data source ${String(step.dataSource)} holds no data`);
    for (const step of wave.filter((x) => !x.needsData)) apply(step, `wave ${w}, partition ${step.partition}, slot ${step.replicaIndex}`);
    for (const step of copies) {
      const where = `wave ${w}, partition ${step.partition}`;
      check(holdsData(step), `${where}: data source ${String(step.dataSource)} let go mid-copy`);
      const releasedAlongside = copies.some((o) => o !== step && o.partition === step.partition && o.releasesSource && o.source === step.dataSource);
      check(!releasedAlongside, `${where}: data source ${String(step.dataSource)} is released by a copy of the same wave`);
    }
    for (const step of copies) apply(step, `wave ${w}, partition ${step.partition}, slot ${step.replicaIndex}`);
    applied += wave.length;
  });
  for (const a of target) {
    const s = (slots.get(a.partition) ?? []).slice();
    while (s.length > 0 && s[s.length - 1] === undefined) s.pop();
    const wanted = replicaSlots(a);
    check(s.join() === wanted.join(), `partition ${a.partition} ends as [${s.join()}], target [${wanted.join()}]`);
    const held = [...(holders.get(a.partition) ?? [])].sort().join();
    check(held === wanted.filter((x) => x !== undefined).sort().join(), `partition ${a.partition} ends held by [${held}]`);
  }
  return applied;
}

/** Cheap assertion for hot loops (property tests replay thousands of steps). */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
