// The sharding invariants can fail: each one, shown a violation, reports it. (The seed
// sweeps only ever show them holding.)
import { describe, expect, it } from 'vitest';
import { ShardStage } from '../../sim/sharding/shard-kit.js';

async function stageWithWrites(seed: number): Promise<ShardStage> {
  const s = await ShardStage.form({ nodes: 4, seed }, 4);
  expect(s.checks.ok).toBe(true);
  s.workload.start();
  await s.run(1_000);
  s.workload.stop();
  await s.until(() => s.workload.settled(), 10_000);
  expect(s.workload.acked.size).toBeGreaterThan(10);
  return s;
}

describe('sharding invariants', () => {
  it('report a lost replica when a node dies during what the scenario calls a planned move', async () => {
    const s = await stageWithWrites(3);
    // Not announced with s.fault(): the planned-move checks still hold the cluster to its target.
    s.sim.crash(s.sim.nodes()[2]!.nodeId);
    await s.run(200);
    const failures = s.invariants.failures();
    expect(failures.some((f) => f.includes('live replicas of 2'))).toBe(true);
    expect(failures.some((f) => f.includes('is held by 1 live nodes of 2'))).toBe(true);
  });

  it('report two nodes serving one partition at one epoch', async () => {
    const s = await stageWithWrites(4);
    expect(s.invariants.failures()).toEqual([]);
    s.invariants.onServed({ node: 'node-000', partition: 7, epoch: 99, tableVersion: 1, startedAt: 0 });
    s.invariants.onServed({ node: 'node-000', partition: 7, epoch: 99, tableVersion: 1, startedAt: 0 });
    expect(s.invariants.failures()).toEqual([]);
    s.invariants.onServed({ node: 'node-001', partition: 7, epoch: 99, tableVersion: 1, startedAt: 0 });
    expect(s.invariants.failures()).toEqual([expect.stringContaining('partition 7 served writes at epoch 99 on node-000 and on node-001')]);
  });

  it('report an acknowledged write that no longer reads back', async () => {
    const s = await stageWithWrites(5);
    const [write] = [...s.workload.acked.values()];
    // Lose it everywhere, as a bug would: a delete newer than the write on every replica.
    for (const n of s.sim.nodes()) n.machine.kv.store.apply(write!.partition, { kind: 'delete', key: write!.key, version: { millis: Number.MAX_SAFE_INTEGER, counter: 0, node: 'z' } });
    const { reads, wrong } = await s.invariants.readBack((done) => s.until(done, 30_000).then((t) => t !== undefined));
    expect(reads).toBe(4 * s.workload.acked.size);
    expect(wrong).toBe(4);
    expect(s.invariants.failures().some((f) => f.startsWith(`${write!.key} (acknowledged via`) && f.includes('reads null'))).toBe(true);
  });
});

describe('the refused-write invariant', () => {
  it('reports a write refused as read-only that a node nevertheless holds', async () => {
    const s = await stageWithWrites(6);
    const [kept] = [...s.workload.acked.values()];
    // Pretend the client of that write heard FLO_READ_ONLY, as the bug of a NOT_OWNER answer after the apply made it hear.
    s.workload.refused.set(kept!.key, { key: kept!.key, partition: kept!.partition, via: kept!.via, refusedAt: s.sim.now });
    const { wrong } = await s.invariants.readBack((done) => s.until(done, 30_000).then((t) => t !== undefined));
    expect(wrong).toBe(4);
    expect(s.invariants.failures().some((f) => f.startsWith(`${kept!.key} (refused FLO_READ_ONLY via`))).toBe(true);
  });
});
