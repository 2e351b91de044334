import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { eachLimited, keys, mismatches, ownedCounts, startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from './partition-harness.js';

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('PartitionService on a 3-node cluster', () => {
  it('gives every partition an owner and one backup, the same table everywhere, and serves the KV store', async () => {
    nodes = await startPartitionCluster(3);
    await waitFor(() => tableProblem(nodes) === undefined, 'one complete table everywhere', 20_000);
    const table = nodes[0]!.service.table()!;
    expect([...ownedCounts(table).values()].sort()).toEqual([90, 90, 91]);
    const ks = keys(500);
    await eachLimited(ks, 32, (k, i) => nodes[i % 3]!.service.kvPut(k, { i, k }));
    expect(await mismatches(nodes.slice(1), new Map(ks.map((k, i) => [k, { i, k }])))).toEqual([]);
    expect(await nodes[2]!.service.kvSize()).toBe(500);
    expect(await nodes[0]!.service.kvDelete('key-1')).toBe(true);
    expect(await nodes[1]!.service.kvDelete('key-1')).toBe(false);
    expect(await nodes[2]!.service.kvGet('key-1')).toBeUndefined();
    // Every entry is held twice: by its owner and its one backup.
    expect(nodes.reduce((n, x) => n + x.service.store.size(), 0)).toBe(2 * 499);
  }, 60_000);
});
