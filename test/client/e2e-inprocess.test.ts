// The client end to end against three in-process nodes on OS-assigned ports, each with
// its client gateway: a cluster-mode client with all three seeds, a memory adapter and a
// JWT writes through the owner, the owner shuts down, and the next write lands on the
// survivors.
import { describe, expect, it } from 'vitest';
import { FlotillaClient, MemoryStorageAdapter, partitionOf } from '../../src/client-platform/index.js';
import { waitFor } from '../node/helpers.js';
import type { PartitionNode } from '../node/partition-harness.js';
import { useThreeNodes, wsSocket } from './three-nodes.js';

const cluster = useThreeNodes('client-e2e-secret-0123456789abcdef012345', 'e2e');
const { nodes, gateways } = cluster;

function ownerOf(key: string): PartitionNode {
  const table = nodes.find((n) => n.node.state() === 'running')!.service.table()!;
  return nodes.find((n) => n.id === table.assignments[partitionOf(key)]!.owner)!;
}

describe('FlotillaClient against an in-process cluster', () => {
  it('writes through the owner, and after the owner shuts down the survivors take the next write', async () => {
    await cluster.start();
    const storage = new MemoryStorageAdapter();
    const client = await cluster.connect({ storage });
    const map = client.getMap<{ value: number }>('e2e');

    await map.set('key-1', { value: 1 });
    const owner = ownerOf('key-1');
    const p = partitionOf('key-1');
    expect(owner.service.store.get(p, 'key-1', 'e2e')).toBeDefined();
    expect(await owner.node.getMap('e2e').get('key-1')).toEqual({ value: 1 });
    expect(storage.size()).toBe(0);

    const i = nodes.indexOf(owner);
    await gateways[i]!.close();
    await owner.node.leave();
    const survivors = nodes.filter((n) => n !== owner);

    await map.set('key-1', { value: 2 });
    for (const s of survivors) await waitFor(() => s.node.state() === 'running', 'survivor running', 5_000);
    expect(await survivors[0]!.node.getMap('e2e').get('key-1')).toEqual({ value: 2 });
    const newOwner = ownerOf('key-1');
    expect(survivors).toContain(newOwner);
    expect(newOwner.service.store.get(p, 'key-1', 'e2e')).toBeDefined();
    expect(await map.get('key-1')).toEqual({ value: 2 });

    const stats = client.getClusterStats();
    expect(stats.mapVersion).toBeGreaterThanOrEqual(1);
    expect(stats.partitionCount).toBe(271);
    expect(client.isRoutingActive()).toBe(true);
  }, 120_000);

  it('applies writes locally while offline, keeps them pending, and syncs them once a node is reachable', async () => {
    await cluster.start();
    const client = cluster.track(new FlotillaClient({ serverUrl: gateways[0]!.url, WebSocket: wsSocket }));
    const map = client.getMap<number>('offline');
    const changes: unknown[] = [];
    map.subscribe((c) => changes.push([c.key, c.value, c.origin]));
    // No token yet: the gateway refuses nothing because nothing was sent; the write waits.
    const acked = map.set('k', 7);
    expect(await map.get('k')).toBe(7);
    expect(client.pendingWrites()).toBe(1);
    client.setAuthToken(await cluster.token());
    await acked;
    expect(client.pendingWrites()).toBe(0);
    expect(await nodes[1]!.node.getMap('offline').get('k')).toBe(7);
    expect(changes).toEqual([['k', 7, 'local']]);
    await nodes[2]!.node.getMap('offline').set('k', 8);
    expect(await map.get('k')).toBe(8);
    expect(changes).toEqual([['k', 7, 'local'], ['k', 8, 'remote']]);
    expect(await map.entries()).toEqual([['k', 8]]);
    expect(await map.size()).toBe(1);
    expect(await map.delete('k')).toBe(true);
    expect(await nodes[2]!.node.getMap('offline').get('k')).toBeUndefined();
  }, 120_000);

  it('pushes other writers` changes to subscribers: whole map, one key, a prefix; deletes too', async () => {
    await cluster.start();
    const watcher = await cluster.connect();
    const writer = await cluster.connect();
    await waitFor(() => watcher.getConnectedNodes().length === 3 && writer.isRoutingActive(), 'both clients connected to every node', 20_000);
    const all: [string, unknown][] = [];
    const one: [string, unknown][] = [];
    const prefixed: [string, unknown][] = [];
    const map = watcher.getMap<number>('live');
    map.subscribe((c) => all.push([c.key, c.value]));
    map.subscribe((c) => one.push([c.key, c.value]), { key: 'a-1' });
    const stop = map.subscribe((c) => prefixed.push([c.key, c.value]), { prefix: 'b-' });
    // Subscriptions reach the nodes asynchronously: probe writes until one is reported.
    let probes = 0;
    await waitFor(() => {
      if (all.length > 0) return true;
      void writer.getMap<number>('live').set(`probe-${probes++}`, 0);
      return false;
    }, 'a probe event', 20_000);
    const real = (): [string, unknown][] => all.filter(([k]) => !k.startsWith('probe-'));
    const sorted = (xs: [string, unknown][]): string[] => xs.map((x) => JSON.stringify(x)).sort();
    const w = writer.getMap<number>('live');
    await w.set('a-1', 1);
    await w.set('b-1', 2);
    await w.set('b-2', 3);
    await nodes[1]!.node.getMap<number>('live').set('c-1', 4);
    await w.delete('a-1');
    await waitFor(() => real().length === 5, 'five events', 20_000);
    // Events of different keys come from their owners over separate sockets: compare as sets.
    expect(sorted(real())).toEqual(sorted([['a-1', 1], ['b-1', 2], ['b-2', 3], ['c-1', 4], ['a-1', undefined]]));
    expect(one).toEqual([['a-1', 1], ['a-1', undefined]]);
    expect(sorted(prefixed)).toEqual(sorted([['b-1', 2], ['b-2', 3]]));
    expect(await map.get('c-1')).toBe(4);
    stop();
    await w.set('b-3', 5);
    await waitFor(() => all.some(([k]) => k === 'b-3'), 'the event after unsubscribing the prefix', 20_000);
    expect(prefixed).toHaveLength(2);
  }, 120_000);
});
