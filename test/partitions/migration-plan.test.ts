// The master's plan: which copies a target needs, how they start under the per-node and
// in-flight bounds, when a partition may commit, and what failures, timeouts and new
// targets do to migrations already started.
import { describe, expect, it } from 'vitest';
import { ClusterPartitionTable, computeAssignment, type ReplicaAssignment } from '../../src/partitions/index.js';
import { MigrationPlan, type MigrationPlanOptions } from '../../src/partitions/migration-plan.js';

const P = 31;
const options: MigrationPlanOptions = { parallelPerNodeMax: 2, inFlightMax: 100, timeoutMs: 1_000, retryDelayMs: 50, attemptsMax: 3 };

function setup(overrides: Partial<MigrationPlanOptions> = {}): { table: ClusterPartitionTable; target: ReplicaAssignment[]; plan: MigrationPlan } {
  const table = new ClusterPartitionTable(P);
  table.applyAssignments(computeAssignment(['a', 'b', 'c'].map((nodeId) => ({ nodeId })), P, 1));
  const target = computeAssignment(['a', 'b', 'c', 'd'].map((nodeId) => ({ nodeId })), P, 1, table.toData());
  return { table, target, plan: new MigrationPlan({ ...options, ...overrides }) };
}

function ids(): () => string {
  let n = 0;
  return () => `m${++n}`;
}

describe('MigrationPlan', () => {
  it('needs one copy per partition that gains the new member, and starts at most parallelPerNodeMax on it', () => {
    const { table, target, plan } = setup();
    const result = plan.replan(table, target);
    const gaining = target.filter((t) => t.owner === 'd' || t.backups.includes('d')).map((t) => t.partition);
    expect(plan.pendingPartitions).toBe(gaining.length);
    expect(result.cancelled).toEqual([]);
    expect(result.committable).toEqual([]);
    const started = plan.start(0, table.version, ids());
    expect(started).toHaveLength(2);
    for (const m of started) {
      expect(m.destination).toBe('d');
      expect(m.source).toBe(table.owner(m.partition));
      expect(m.deadlineAt).toBe(1_000);
      expect(m.epoch).toBe(table.epoch(m.partition) + (m.role === 'owner' ? 1 : 0));
    }
    expect(plan.start(0, table.version, ids())).toEqual([]);
  });

  it('commits a partition once its copy is ready, reported by the destination only', () => {
    const { table, target, plan } = setup();
    plan.replan(table, target);
    const [m] = plan.start(0, table.version, ids());
    expect(plan.markReady(m!.migrationId, 'a')).toBeUndefined();
    expect(plan.markReady(m!.migrationId, 'd')).toMatchObject({ commit: true });
    expect(plan.markReady(m!.migrationId, 'd')).toBeUndefined();
    expect(plan.committable(m!.partition)).toBe(true);
    expect(plan.complete(m!.partition).map((x) => x.migrationId)).toEqual([m!.migrationId]);
    expect(plan.inFlight).toBe(1);
    expect(plan.targetOf(m!.partition)).toEqual(target[m!.partition]);
  });

  it('respects inFlightMax across all nodes', () => {
    const { table, target, plan } = setup({ inFlightMax: 1, parallelPerNodeMax: 8 });
    plan.replan(table, target);
    expect(plan.start(0, table.version, ids())).toHaveLength(1);
  });

  it('retries a failed partition after retryDelayMs and parks it after attemptsMax', () => {
    const { table, target, plan } = setup({ parallelPerNodeMax: 1, attemptsMax: 2 });
    plan.replan(table, target);
    const next = ids();
    const [m] = plan.start(0, table.version, next);
    expect(plan.fail(m!.migrationId, 10)).toEqual({ cancelled: [m], parked: false });
    expect(plan.nextDeadline()).toBe(60);
    const other = plan.start(10, table.version, next);
    expect(other.every((x) => x.partition !== m!.partition)).toBe(true);
    for (const x of other) plan.fail(x.migrationId, 10);
    const again = plan.start(60, table.version, next).find((x) => x.partition === m!.partition);
    expect(again).toBeDefined();
    expect(plan.fail(again!.migrationId, 70)).toMatchObject({ parked: true });
    expect(plan.parked()).toContain(m!.partition);
    expect(plan.fail(again!.migrationId, 70)).toBeUndefined();
  });

  it('reports migrations past their deadline', () => {
    const { table, target, plan } = setup();
    plan.replan(table, target);
    const started = plan.start(0, table.version, ids());
    expect(plan.expired(999)).toEqual([]);
    expect(plan.expired(1_000)).toEqual(started.map((m) => m.migrationId));
    expect(plan.nextDeadline()).toBe(1_000);
  });

  it('keeps started migrations the new target still needs, with their progress', () => {
    const { table, target, plan } = setup();
    plan.replan(table, target);
    const [m1, m2] = plan.start(0, table.version, ids());
    plan.markReady(m1!.migrationId, 'd');
    const result = plan.replan(table, target);
    expect(result.cancelled).toEqual([]);
    expect(result.committable).toEqual([m1!.partition]);
    expect(plan.active(m2!.migrationId)).toEqual(m2);
    expect(plan.inFlight).toBe(2);
  });

  it('cancels started migrations a new target no longer wants, and commits partitions needing no data directly', () => {
    const { table, target, plan } = setup();
    plan.replan(table, target);
    const started = plan.start(0, table.version, ids());
    const withoutD = computeAssignment(['a', 'b', 'c'].map((nodeId) => ({ nodeId })), P, 1, table.toData());
    const result = plan.replan(table, withoutD);
    expect(result.cancelled).toEqual(started);
    expect(result.direct).toEqual([]);
    expect(plan.pendingPartitions).toBe(0);
    expect(plan.inFlight).toBe(0);
  });

  it('abandons everything at once', () => {
    const { table, target, plan } = setup();
    plan.replan(table, target);
    const started = plan.start(0, table.version, ids());
    expect(plan.abandon()).toEqual(started);
    expect(plan.pendingPartitions).toBe(0);
    expect(plan.nextDeadline()).toBeUndefined();
  });

  it('needs no copies from an empty table: every partition commits directly', () => {
    const table = new ClusterPartitionTable(P);
    const target = computeAssignment(['a', 'b'].map((nodeId) => ({ nodeId })), P, 1);
    const result = new MigrationPlan(options).replan(table, target);
    expect(result.direct).toEqual(Array.from({ length: P }, (_, p) => p));
  });
});
