import { afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { waitFor } from './helpers.js';
import {
  eachLimited,
  keys,
  mismatches,
  ownedCounts,
  startPartitionCluster,
  startPartitionNode,
  stopNodes,
  tableProblem,
  waitForReplicasOnly,
  type PartitionNode,
} from './partition-harness.js';

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('a 4th node joins a loaded cluster', () => {
  it('takes about a quarter of the partitions, with their data', async () => {
    nodes = await startPartitionCluster(3);
    await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 3 nodes', 20_000);
    const ks = keys(5_000);
    await eachLimited(ks, 64, (k, i) => nodes[i % 3]!.service.kvPut(k, i));
    const before = nodes[0]!.service.table()!;

    const n4 = await startPartitionNode('n4', [nodes[0]!.node.address]);
    nodes.push(n4);
    await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 4 nodes', 30_000);
    const after = nodes[0]!.service.table()!;
    expect(ownedCounts(after).get('n4')).toBe(67);
    const moved = after.assignments.filter((a) => a.owner !== before.assignments[a.partition]!.owner);
    expect(moved.every((a) => a.owner === 'n4')).toBe(true);

    // The data moved, not just the ownership: n4 holds every key of the partitions it owns or backs up.
    const perPartition = new Map<number, number>();
    for (const k of ks) perPartition.set(partitionOf(k), (perPartition.get(partitionOf(k)) ?? 0) + 1);
    for (const a of after.assignments) {
      for (const holder of [a.owner, ...a.backups]) {
        const node = nodes.find((n) => n.id === holder)!;
        expect(node.service.store.partitionSize(a.partition), `partition ${a.partition} on ${holder}`).toBe(perPartition.get(a.partition) ?? 0);
      }
    }
    await waitForReplicasOnly(nodes, 2 * ks.length);
    expect(await mismatches(nodes, new Map(ks.map((k, i) => [k, i])))).toEqual([]);
  }, 90_000);
});
