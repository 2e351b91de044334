// A `serverUrl` client reaches the cluster through one node, which relays the changes of
// the partitions it does not own from their owners (kv.watch long polls). The subscriber
// must hear every acknowledged write to keys of every partition, and keep hearing them
// while the owner of a third of the partitions stops and its backups take over. Three
// in-process nodes on OS-assigned ports, real sockets.
import { describe, expect, it } from 'vitest';
import { FlotillaClient, partitionOf } from '../../src/client-platform/index.js';
import { waitFor } from '../node/helpers.js';
import { useThreeNodes, wsSocket } from './three-nodes.js';

const cluster = useThreeNodes('client-relay-secret-0123456789abcdef01234', 'relay');
const { nodes, gateways } = cluster;

/** Keys of the partitions of every owner in node 0's table, `perNode` of each, named `prefix-i`. */
function keysAcross(perNode: number, prefix: string): string[] {
  const table = nodes[0]!.node.partitionTable()!;
  const byOwner = new Map<string, string[]>(table.assignments.map((a) => [a.owner, []]));
  for (let i = 0; [...byOwner.values()].some((k) => k.length < perNode); i++) {
    const key = `${prefix}-${i}`;
    const mine = byOwner.get(table.assignments[partitionOf(key)]!.owner)!;
    if (mine.length < perNode) mine.push(key);
  }
  return [...byOwner.values()].flat();
}

/** A cluster-mode writer, and a serverUrl subscriber to map `relay` through node 0 that hears every owner. */
async function setUp(): Promise<{ heard: Map<string, unknown>; map: GridLike; subscriber: FlotillaClient }> {
  await cluster.start();
  const writer = await cluster.connect({ config: { reconnectMaxMs: 200 } });
  const subscriber = cluster.track(new FlotillaClient({ serverUrl: gateways[0]!.url, authToken: await cluster.token(), WebSocket: wsSocket, config: { reconnectMaxMs: 200 } }));
  await waitFor(() => subscriber.getConnectedNodes().length === 1 && writer.isRoutingActive(), 'both clients connected', 20_000);
  const heard = new Map<string, unknown>();
  subscriber.getMap<string>('relay').subscribe((c) => heard.set(c.key, c.value));
  const map = writer.getMap<string>('relay');
  // The relay starts live: probe the partitions of every owner until each is heard.
  const probes = keysAcross(1, 'probe');
  await waitFor(() => {
    if (probes.every((k) => heard.has(k))) return true;
    for (const k of probes) void map.set(k, 'p');
    return false;
  }, 'probe events from every owner', 20_000);
  return { heard, map, subscriber };
}

type GridLike = { set(key: string, value: string): Promise<void> };

describe('subscriptions of a serverUrl client, relayed by its node', () => {
  it('hear every write on every partition, across the stop of an owner', async () => {
    const { heard, map, subscriber } = await setUp();
    const first = keysAcross(10, 'a');
    for (const key of first) await map.set(key, `${key}-v`);
    const missing = (keys: readonly string[]): string[] => keys.filter((k) => heard.get(k) !== `${k}-v`);
    await waitFor(() => missing(first).length === 0, `every write as an event (missing: ${missing(first).join(',')})`, 20_000);
    // Only a third of them were acknowledged by the node the subscriber is connected to.
    const table = nodes[0]!.node.partitionTable()!;
    expect(first.filter((k) => table.assignments[partitionOf(k)]!.owner !== nodes[0]!.id).length).toBe(20);

    // The owner of a third of the partitions stops while writes go on; each key is written
    // once, so every acknowledged write is its own final value and must be heard.
    const during = keysAcross(10, 'b');
    const acknowledged: string[] = [];
    const writes = (async () => {
      for (const key of during) {
        try {
          await map.set(key, `${key}-v`);
          acknowledged.push(key);
        } catch {
          // Not acknowledged (the owner stopped under it): not promised to anyone.
        }
      }
    })();
    await nodes[1]!.node.stop();
    await writes;
    const after = keysAcross(5, 'c').filter((k) => !during.includes(k));
    for (const key of after) {
      await map.set(key, `${key}-v`);
      acknowledged.push(key);
    }
    expect(acknowledged.length).toBeGreaterThan(after.length);
    await waitFor(() => missing(acknowledged).length === 0, `every acknowledged write as an event (missing: ${missing(acknowledged).join(',')})`, 30_000);
    expect(subscriber.getConnectedNodes().length).toBe(1);
  }, 120_000);

  it('resume after a reconnect: writes to every partition made while the client was away are replayed from its cursors', async () => {
    const { heard, map, subscriber } = await setUp();
    const warm = keysAcross(3, 'w');
    for (const key of warm) await map.set(key, `${key}-v`);
    await waitFor(() => warm.every((k) => heard.get(k) === `${k}-v`), 'the first writes', 20_000);

    const port = gateways[0]!.address().port;
    await gateways[0]!.close();
    await waitFor(() => subscriber.getConnectedNodes().length === 0, 'the subscriber lost its node', 10_000);
    // Keys the subscriber never read: only a replay above its cursors can tell it of them.
    const away = keysAcross(5, 'away');
    for (const key of away) await map.set(key, `${key}-v`);
    expect(away.some((k) => heard.has(k))).toBe(false);

    gateways[0] = await cluster.serve(nodes[0]!, { port });
    const missing = (): string[] => away.filter((k) => heard.get(k) !== `${k}-v`);
    await waitFor(() => missing().length === 0, `every write made while away (missing: ${missing().join(',')})`, 30_000);
  }, 120_000);

  it('a live query through one node: its initial result and its changes cover every partition', async () => {
    await cluster.start();
    const writer = await cluster.connect();
    await waitFor(() => writer.isRoutingActive(), 'the writer connected', 20_000);
    const people = writer.getMap<{ n: number; even: boolean }>('people');
    const keys = keysAcross(6, 'p');
    for (const [i, key] of keys.entries()) await people.set(key, { n: i, even: i % 2 === 0 });
    const expected = (): string[] => keys.filter((_, i) => i % 2 === 0).sort();

    const reader = cluster.track(new FlotillaClient({ serverUrl: gateways[0]!.url, authToken: await cluster.token(), WebSocket: wsSocket }));
    const query = reader.getMap<{ n: number; even: boolean }>('people').query({ op: 'eq', path: 'even', value: true });
    // Synced once the node answered, and it answers after the relayed partitions' initial result.
    await waitFor(() => query.synced, 'the query answered', 20_000);
    expect([...query.entries().keys()].sort()).toEqual(expected());
    const table = nodes[0]!.node.partitionTable()!;
    expect(expected().filter((k) => table.assignments[partitionOf(k)]!.owner !== nodes[0]!.id).length).toBe(6);

    // Changes on every owner's partitions: an entry leaves, another enters.
    const [leaving, entering] = [keys.find((k, i) => i % 2 === 0 && table.assignments[partitionOf(k)]!.owner === nodes[1]!.id)!, keys.find((k, i) => i % 2 === 1 && table.assignments[partitionOf(k)]!.owner === nodes[2]!.id)!];
    await people.set(leaving, { n: -1, even: false });
    await people.set(entering, { n: -2, even: true });
    const now = [...expected().filter((k) => k !== leaving), entering].sort();
    await waitFor(() => [...query.entries().keys()].sort().join() === now.join(), 'the leave and the enter relayed', 20_000);
  }, 120_000);
});
