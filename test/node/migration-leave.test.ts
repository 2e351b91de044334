import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { eachLimited, keys, startPartitionCluster, stopNodes, tableProblem, mismatches, WriteLoop, type PartitionNode } from './partition-harness.js';

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('graceful leave under a write load', () => {
  it.each([
    ['a member', 'n3'],
    ['the master', 'n1'],
  ])('%s drains its partitions first: no acknowledged write is lost and the writer sees no error', async (_what, leaver) => {
    nodes = await startPartitionCluster(4);
    await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 4 nodes', 20_000);
    const ks = keys(1_000);
    await eachLimited(ks, 64, (k, i) => nodes[i % 4]!.service.kvPut(k, i));
    const leaving = nodes.find((n) => n.id === leaver)!;
    const stay = nodes.filter((n) => n !== leaving);
    const loop = new WriteLoop(() => stay[1]!);
    await waitFor(() => loop.count > 200, 'some writes before the leave');

    await leaving.node.leave();
    // Everything the leaver held was moved before it left: it held nothing when it went.
    expect(leaving.service.store.size()).toBe(0);
    const atLeave = loop.count;
    await waitFor(() => loop.count > atLeave + 200, 'more writes after the leave');
    await loop.stop();

    expect(loop.errors).toEqual([]);
    await waitFor(() => tableProblem(stay) === undefined, 'a complete table on the 3 others', 30_000);
    expect(await mismatches(stay, new Map(ks.map((k, i) => [k, i])))).toEqual([]);
    expect(await mismatches(stay, loop.acked)).toEqual([]);
  }, 90_000);
});
