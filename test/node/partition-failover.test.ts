import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { eachLimited, keys, startPartitionCluster, stopNodes, tableProblem, mismatches, WriteLoop, waitForReplicasOnly, type PartitionNode } from './partition-harness.js';

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('a node dies abruptly', () => {
  it.each([
    ['a member', 'n2'],
    ['the master', 'n1'],
  ])('%s: its backups are promoted and every acknowledged write survives', async (_what, victim) => {
    nodes = await startPartitionCluster(4);
    await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 4 nodes', 20_000);
    const ks = keys(1_000);
    await eachLimited(ks, 64, (k, i) => nodes[i % 4]!.service.kvPut(k, `v${i}`));
    const dead = nodes.find((n) => n.id === victim)!;
    const owned = dead.service.table()!.assignments.filter((a) => a.owner === victim).map((a) => a.partition);
    expect(owned.length).toBeGreaterThan(60);

    const survivors = nodes.filter((n) => n !== dead);
    const loop = new WriteLoop(() => survivors[0]!);
    await waitFor(() => loop.count > 200, 'some writes before the crash');
    await dead.node.stop();
    const written = new Map(ks.map((k, i) => [k, `v${i}`]));
    // Reads go on during failover: the routing client retries until the backups take over.
    expect(await mismatches(survivors, written)).toEqual([]);
    await waitFor(() => tableProblem(survivors) === undefined, 'a complete table on the survivors', 30_000);
    await loop.stop();
    // Writes to the dead node's partitions waited (retrying) for the failover instead of failing.
    expect(loop.errors).toEqual([]);
    expect(await mismatches(survivors, loop.acked)).toEqual([]);
    const table = survivors[0]!.service.table()!;
    expect(table.assignments.some((a) => a.owner === victim || a.backups.includes(victim))).toBe(false);
    expect(await mismatches(survivors.slice(1), written)).toEqual([]);
    // Nothing beyond the replicas, once the rebalancing after the crash lets go of its kept copies.
    await waitForReplicasOnly(survivors, 2 * (ks.length + loop.acked.size));
  }, 90_000);
});
