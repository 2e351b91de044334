// Live queries over three in-process nodes with real sockets: the initial result is exactly
// the matching entries across every partition; another client's writes make entries
// enter, change and leave; the owner of some matching keys loses its clients' connection,
// entries of its partitions enter and leave meanwhile, then it stops and its backups take
// over: the result ends equal to a full scan of the map with the filter; the same while a
// fourth node joins and partitions migrate to it under writes. Offline, the client's own
// writes change its result at once. A bad filter is
// refused by the client and, sent raw, by the gateway with FLO_INVALID_ARGUMENT.
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FlotillaClient, partitionOf } from '../../src/client-platform/index.js';
import type { QueryChange } from '../../src/client/index.js';
import { decodeServerFrame, encodeClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { compileFilter, type QueryFilter } from '../../src/protocol/query-filter.js';
import { waitFor } from '../node/helpers.js';
import { startPartitionNode, tableProblem } from '../node/partition-harness.js';
import { useThreeNodes, wsSocket } from './three-nodes.js';

const MAP = 'people';
const cluster = useThreeNodes('client-query-secret-0123456789abcdef012345', 'query');
const { nodes, gateways } = cluster;

type Person = { kind: string; n: number };

async function setUp(): Promise<{ writer: FlotillaClient; reader: FlotillaClient }> {
  await cluster.start();
  const writer = await cluster.connect({ config: { reconnectMaxMs: 200 } });
  const reader = await cluster.connect({ config: { reconnectMaxMs: 200 } });
  await waitFor(() => reader.getConnectedNodes().length === 3 && writer.getConnectedNodes().length === 3 && writer.isRoutingActive() && reader.isRoutingActive(), 'both clients connected to every node', 20_000);
  return { writer, reader };
}

/** Adults of kind a: kind eq 'a' and n >= 3, and not the key q-15. */
const FILTER: QueryFilter = { op: 'and', filters: [{ op: 'eq', path: 'kind', value: 'a' }, { op: 'gte', path: 'n', value: 3 }, { op: 'not', filter: { op: 'eq', path: '$key', value: 'q-15' } }] };
const matches = compileFilter(FILTER);

/** What the result must be, given the acknowledged state of the map. */
function expected(truth: ReadonlyMap<string, Person>): string {
  return render(new Map([...truth].filter(([k, v]) => matches(k, v))));
}

function render(m: ReadonlyMap<string, Person>): string {
  return [...m]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v.kind}${v.n}`)
    .join(' ');
}

describe('live queries', () => {
  it('initial result, enter/update/leave, and the result after the owner of matching keys fails equals a full scan', async () => {
    const { writer, reader } = await setUp();
    const map = writer.getMap<Person>(MAP);
    const truth = new Map<string, Person>();
    const put = async (key: string, v: Person): Promise<void> => {
      await map.set(key, v);
      truth.set(key, v);
    };
    const del = async (key: string): Promise<void> => {
      await map.delete(key);
      truth.delete(key);
    };
    for (let i = 0; i < 60; i++) await put(`q-${i}`, { kind: i % 2 === 0 ? 'a' : 'b', n: i });
    const initial = expected(truth);
    expect(initial.split(' ').length).toBeGreaterThan(20);

    const changes: QueryChange<Person>[] = [];
    const query = reader.getMap<Person>(MAP).query(FILTER, (c) => changes.push(c));
    expect(query.synced).toBe(false);
    // Every node's answer ends its part of the initial result: once all have answered, it is complete.
    await waitFor(() => query.synced, 'every node answered the query', 20_000);
    expect(render(query.entries())).toBe(initial);
    // Spans partitions of every node.
    const owners = new Set([...query.entries().keys()].map((k) => nodes[0]!.node.partitionTable()!.assignments[partitionOf(k)]!.owner));
    expect(owners.size).toBe(3);
    expect(changes.every((c) => c.type === 'enter' && c.origin === 'remote')).toBe(true);

    changes.length = 0;
    await put('q-1', { kind: 'a', n: 1 }); // still out (n < 3): nothing to hear
    await put('q-61', { kind: 'a', n: 61 }); // enters
    await put('q-4', { kind: 'a', n: 400 }); // changes within
    await put('q-6', { kind: 'b', n: 6 }); // leaves: no longer matches
    await del('q-8'); // leaves: deleted
    await waitFor(() => render(query.entries()) === expected(truth), `the result after the writes (have ${render(query.entries())}, want ${expected(truth)}, heard ${changes.map((c) => `${c.type}:${c.key}`).join(',')})`, 20_000);
    const seen = changes.map((c) => `${c.type}:${c.key}`).sort();
    expect(seen).toEqual(['enter:q-61', 'leave:q-6', 'leave:q-8', 'update:q-4']);
    expect(changes.find((c) => c.key === 'q-4')!.version).not.toBeNull();

    // The owner of some matching keys: cut the reader off it, change its keys, then stop it.
    const victim = nodes[1]!;
    const table = victim.node.partitionTable()!;
    const ownedBy = (k: string): boolean => table.assignments[partitionOf(k)]!.owner === victim.id;
    const its = [...truth.keys()].filter((k) => ownedBy(k) && matches(k, truth.get(k)!));
    expect(its.length).toBeGreaterThan(3);
    await gateways[1]!.close();
    await waitFor(() => reader.getConnectedNodes().length === 2, 'the reader lost its connection to the owner', 10_000);
    await put(its[0]!, { kind: 'b', n: 0 }); // leaves unseen
    await del(its[1]!); // leaves unseen
    await put(its[2]!, { kind: 'a', n: 999 }); // changes unseen
    let fresh = 100;
    while (!ownedBy(`q-${fresh}`)) fresh++;
    await put(`q-${fresh}`, { kind: 'a', n: fresh }); // enters unseen
    await victim.node.stop();
    await waitFor(() => render(query.entries()) === expected(truth), `the result after failover (have ${render(query.entries())})`, 30_000);

    // And equal to a full scan of the map through the cluster, filtered.
    const scan = new Map((await map.entries()).filter(([k, v]) => matches(k, v)));
    expect(render(query.entries())).toBe(render(scan));

    // Offline: the reader's own writes change its result at once, before any node has them.
    await Promise.all(gateways.map((g) => g.close()));
    await waitFor(() => reader.getConnectedNodes().length === 0, 'the reader offline', 10_000);
    changes.length = 0;
    const mine = reader.getMap<Person>(MAP);
    const entering = `q-${fresh + 1}`;
    // Pending until the client closes (then they reject, staying in storage).
    const offline = [mine.set(entering, { kind: 'a', n: 7 }), mine.set(its[2]!, { kind: 'a', n: 1 }) /* no longer matches */].map((p) => p.catch((e: unknown) => e));
    await waitFor(() => changes.length === 2, 'the local changes', 10_000);
    expect(changes.map((c) => `${c.type}:${c.key}:${c.origin}:${c.version}`)).toEqual([`enter:${entering}:local:null`, `leave:${its[2]}:local:null`]);
    expect(query.entries().has(entering)).toBe(true);
    expect(reader.pendingWrites()).toBe(2);
    query.stop();
    reader.close();
    expect(await Promise.all(offline)).toMatchObject([{ code: 'FLO_NODE_STOPPED' }, { code: 'FLO_NODE_STOPPED' }]);
  }, 120_000);

  it('keeps the result true while partitions migrate to a node that joins', async () => {
    const { writer, reader } = await setUp();
    const map = writer.getMap<Person>(MAP);
    const truth = new Map<string, Person>();
    let i = 0;
    const step = async (): Promise<void> => {
      // Keys cycle through entering, changing within and leaving the result.
      const key = `q-${i % 40}`;
      const v = { kind: i % 3 === 2 ? 'b' : 'a', n: i };
      if (i % 7 === 6) {
        await map.delete(key);
        truth.delete(key);
      } else {
        await map.set(key, v);
        truth.set(key, v);
      }
      i++;
    };
    while (i < 80) await step();
    const query = reader.getMap<Person>(MAP).query(FILTER);
    await waitFor(() => render(query.entries()) === expected(truth), 'the initial result', 20_000);

    const joiner = await startPartitionNode('n4', [nodes[0]!.node.address]);
    nodes.push(joiner);
    gateways.push(await cluster.serve(joiner));
    // Writes go on while the partitions move.
    while (tableProblem(nodes) !== undefined || nodes.some((n) => n.node.migrations().inFlight.length > 0)) await step();
    for (let k = 0; k < 40; k++) await step();
    const table = nodes[0]!.node.partitionTable()!;
    expect([...truth.keys()].some((k) => table.assignments[partitionOf(k)]!.owner === 'n4')).toBe(true);
    await waitFor(() => reader.getConnectedNodes().length === 4, 'the reader connected to the new node', 20_000);
    await waitFor(() => render(query.entries()) === expected(truth), `the result after the migration (have ${render(query.entries())}, want ${expected(truth)})`, 30_000);
    const scan = new Map((await map.entries()).filter(([k, v]) => matches(k, v)));
    expect(render(query.entries())).toBe(render(scan));
  }, 120_000);

  it('refuses bad filters: the client at once, the gateway with FLO_INVALID_ARGUMENT for that query alone', async () => {
    const { reader: client } = await setUp();
    expect(() => client.getMap(MAP).query({ op: 'like', path: 'a', value: 'x' } as unknown as QueryFilter)).toThrow(/filter\.op/);

    const ws = new WebSocket(gateways[0]!.url);
    const frames: ServerFrame[] = [];
    ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 20)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(encodeClientFrame({ type: 'AUTH', token: await cluster.token() }));
    await waitFor(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK');
    ws.send(encodeClientFrame({ type: 'SUBSCRIBE', sub: { id: 7, map: MAP, key: null, prefix: null, since: null, filter: { op: 'gt', path: 'a..b', value: 1 } } }));
    ws.send(encodeClientFrame({ type: 'SUBSCRIBE', sub: { id: 8, map: MAP, key: null, prefix: null, since: null, filter: { op: 'exists', path: 'a' } } }));
    await waitFor(() => frames.some((f) => f.type === 'RESULT' && f.id === 8), 'the good query answered');
    const refusal = frames.find((f) => f.type === 'ERROR' && f.id === 7);
    expect(refusal).toMatchObject({ code: 'FLO_INVALID_ARGUMENT', message: expect.stringMatching(/filter\.path/) });
    ws.close();

    // Past a gateway's bound of subscriptions per connection, the query says why that node reports nothing.
    gateways.push(await cluster.serve(nodes[0]!, { subscriptionsMax: 1 }));
    const bounded = cluster.track(new FlotillaClient({ serverUrl: gateways[3]!.url, authToken: await cluster.token(), WebSocket: wsSocket }));
    const first = bounded.getMap(MAP).query({ op: 'exists', path: 'a' });
    const second = bounded.getMap(MAP).query({ op: 'exists', path: 'b' });
    await waitFor(() => second.error !== undefined, 'the second query refused', 10_000);
    expect(second.error!.code).toBe('FLO_QUEUE_FULL');
    expect(first.error).toBeUndefined();
  }, 60_000);
});
