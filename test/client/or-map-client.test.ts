// The OR-map end to end on three in-process nodes with their gateways: a cluster-mode
// client adds and removes values; the owner and its backup hold them; node code sees the
// same values; after the owner leaves, the survivors still hold every acknowledged add.
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/client-platform/index.js';
import { orMapStoreName, orSlotPrefix } from '../../src/grid/or-map-keys.js';
import { waitFor } from '../node/helpers.js';
import type { PartitionNode } from '../node/partition-harness.js';
import { useThreeNodes } from './three-nodes.js';

const cluster = useThreeNodes('or-map-client-secret-0123456789abcdef0123', 'or');
const { nodes, gateways } = cluster;

describe('OR-map through the client', () => {
  it('adds and removes values, replicated to the backup, kept when the owner leaves', async () => {
    await cluster.start();
    const client = await cluster.connect();
    const tags = client.getOrMap<string>('tags');

    await tags.add('post-1', 'red');
    await tags.add('post-1', 'blue');
    await tags.add('post-1', 'red');
    expect(await tags.get('post-1')).toEqual(['red', 'blue']);
    expect(await nodes[1]!.node.getOrMap<string>('tags').get('post-1')).toEqual(['red', 'blue']);
    expect(await tags.remove('post-1', 'red')).toBe(2);
    await nodes[2]!.node.getOrMap<string>('tags').add('post-1', 'green');
    expect(await tags.get('post-1')).toEqual(['blue', 'green']);
    expect(await tags.get('post-2')).toEqual([]);
    // A LWW map of the same name is another map.
    expect(await client.getMap('tags').get('post-1')).toBeUndefined();

    const p = partitionOf('post-1');
    const table = nodes[0]!.service.table()!;
    const owner = nodes.find((n) => n.id === table.assignments[p]!.owner)!;
    const backup = nodes.find((n) => n.id === table.assignments[p]!.backups[0])!;
    const live = (n: PartitionNode): number => n.service.store.liveWithPrefix(p, orMapStoreName('tags'), orSlotPrefix('post-1')).length;
    expect(live(owner)).toBe(2);
    expect(live(backup)).toBe(2);

    const i = nodes.indexOf(owner);
    await gateways[i]!.close();
    await owner.node.leave();
    const survivor = nodes.find((n) => n !== owner)!;
    await waitFor(() => survivor.node.state() === 'running', 'survivor running', 5_000);
    expect(await tags.get('post-1')).toEqual(['blue', 'green']);
    expect(await survivor.node.getOrMap<string>('tags').get('post-1')).toEqual(['blue', 'green']);
    await expect(tags.add('post-1\u0000x', 'bad')).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
  }, 120_000);
});
