import { afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { waitFor } from './helpers.js';
import { eachLimited, FAST_PARTITIONS, keys, startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from './partition-harness.js';

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

function holders(key: string): { owner: PartitionNode; backup: PartitionNode } {
  const table = nodes[0]!.service.table()!;
  const p = partitionOf(key, table.partitionCount);
  const a = table.assignments[p]!;
  return { owner: nodes.find((n) => n.id === a.owner)!, backup: nodes.find((n) => n.id === a.backups[0])! };
}

describe('named maps on a 3-node cluster', () => {
  it('set/get/delete/entries/size per map, held by owner and backup, tombstones replicated', async () => {
    nodes = await startPartitionCluster(3);
    await waitFor(() => tableProblem(nodes) === undefined, 'one complete table everywhere', 20_000);
    const users = nodes[0]!.node.getMap<{ name: string }>('users');
    const orders = nodes[1]!.node.getMap<number>('orders');
    const ks = keys(60, 'u');
    await eachLimited(ks, 16, (k, i) => users.set(k, { name: `n${i}` }));
    await orders.set('u-1', 42);
    expect(await nodes[2]!.node.getMap('users').get('u-1')).toEqual({ name: 'n1' });
    expect(await nodes[2]!.node.getMap('orders').get('u-1')).toBe(42);
    expect(await nodes[2]!.node.getMap('users').size()).toBe(60);
    expect(await orders.size()).toBe(1);
    const entries = await nodes[1]!.node.getMap('users').entries();
    expect(new Map(entries)).toEqual(new Map(ks.map((k, i) => [k, { name: `n${i}` }])));
    // The default map (node.kv) is a map like the others, apart from the named ones.
    expect(await nodes[0]!.node.kv!.kvGet('u-1')).toBeUndefined();

    const { owner, backup } = holders('u-1');
    const p = partitionOf('u-1', 271);
    expect(owner.service.store.get(p, 'u-1', 'users')).toBeDefined();
    expect(backup.service.store.get(p, 'u-1', 'users')).toBeDefined();
    expect(await users.delete('u-1')).toBe(true);
    expect(await users.delete('u-1')).toBe(false);
    expect(await users.get('u-1')).toBeUndefined();
    expect(await orders.get('u-1')).toBe(42);
    // The delete left a tombstone on the owner and the backup.
    expect(owner.service.store.slot(p, 'users', 'u-1')?.value).toBeNull();
    expect(backup.service.store.slot(p, 'users', 'u-1')?.value).toBeNull();
    expect(await users.size()).toBe(59);
  }, 60_000);

  it('refuses bad map names and keys with FLO_INVALID_ARGUMENT', async () => {
    nodes = await startPartitionCluster(1);
    const node = nodes[0]!.node;
    expect(() => node.getMap('')).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => node.getMap('x'.repeat(300))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    await expect(node.getMap('m').set('', 1)).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    await expect(node.getMap('m').set('k', undefined as never)).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
  }, 30_000);

  it('in async backup mode acknowledges at the owner and still reaches the backup', async () => {
    nodes = await startPartitionCluster(2, { ...FAST_PARTITIONS, kv: { ...FAST_PARTITIONS.kv, backupMode: 'async' } });
    await waitFor(() => tableProblem(nodes) === undefined, 'one complete table everywhere', 20_000);
    const map = nodes[0]!.node.getMap('m');
    await map.set('k', 'v');
    const { backup } = holders('k');
    await waitFor(() => backup.service.store.get(partitionOf('k', 271), 'k', 'm') !== undefined, 'the backup holds the async write', 10_000);
  }, 60_000);
});
