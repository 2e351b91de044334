// A `serverUrl` client reaches the cluster through one node, which relays the changes of
// the partitions it does not own from their owners (kv.watch long polls). The subscriber
// must hear every acknowledged write to keys of every partition, and keep hearing them
// while the owner of a third of the partitions stops and its backups take over; a
// partition that moves to the relaying node goes on from that node's store; the relay's
// numbers show on each node's /metrics. Three in-process nodes on OS-assigned ports, real sockets.
import { describe, expect, it } from 'vitest';
import { toAdminSource } from '../../src/cli/admin-source.js';
import { FlotillaClient, partitionOf } from '../../src/client-platform/index.js';
import { createAdminMetrics } from '../../src/gateway/index.js';
import type { KvChange } from '../../src/grid/kv-codec.js';
import type { FlotillaNode } from '../../src/node/node-api.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { parseExposition, value } from '../gateway/exposition.js';
import { waitFor as waitUntil } from '../helpers/cluster-checks.js';
import { waitFor } from '../node/helpers.js';
import { useThreeNodes, wsSocket } from './three-nodes.js';
import { WebSocket } from 'ws';
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';

const cluster = useThreeNodes('client-relay-secret-0123456789abcdef01234', 'relay');
const { nodes, gateways } = cluster;

/** The first key `prefix-j` (j = 0, 1, ...) of `partition`. */
function keyIn(partition: number, prefix: string): string {
  for (let j = 0; ; j++) if (partitionOf(`${prefix}-${j}`) === partition) return `${prefix}-${j}`;
}

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

const WATCH_NAMES = ['polls_parked', 'parked_bytes', 'polls_answered_total', 'polls_busy_total', 'relays_running', 'relayed_changes_total'] as const;
type WatchValues = Record<(typeof WATCH_NAMES)[number], number>;

/** Scrapes of each node's /metrics text, read for its `flotilla_watch_*` values (named without `flotilla_watch_`). */
function watchScrapers(of: readonly FlotillaNode[]): { scrape(i: number): Promise<WatchValues>; close(): void } {
  const metrics = of.map((n) => createAdminMetrics(toAdminSource(n)));
  return {
    async scrape(i) {
      const exp = parseExposition(await metrics[i]!.scrape());
      return Object.fromEntries(WATCH_NAMES.map((n) => [n, value(exp, `flotilla_watch_${n}`) ?? Number.NaN])) as WatchValues;
    },
    close: () => metrics.forEach((m) => m.close()),
  };
}

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

  it('show in /metrics: the relay on its node, the parked polls on the owners, back to 0 once the subscriber leaves', async () => {
    const { heard, map, subscriber } = await setUp();
    const scrapers = watchScrapers(nodes.map((n) => n.node));
    try {
      const owners = [1, 2];
      const relaying = await scrapers.scrape(0);
      expect(relaying).toMatchObject({ relays_running: 1, polls_parked: 0 });
      // With nothing new to tell, the relay's poll waits parked on each owner (two for a moment while a loop is replaced).
      let parked: WatchValues[] = [];
      await waitUntil('one poll parked on each owner', 20_000, async () => {
        parked = await Promise.all(owners.map((i) => scrapers.scrape(i)));
        return parked.every((m) => m.polls_parked >= 1 && m.parked_bytes > 0) ? undefined : JSON.stringify(parked);
      });

      const keys = keysAcross(4, 'm');
      for (const key of keys) await map.set(key, `${key}-v`);
      await waitFor(() => keys.every((k) => heard.get(k) === `${k}-v`), 'every write heard', 20_000);
      // The owners' eight keys reached the subscriber through the relay, each at least once.
      expect((await scrapers.scrape(0)).relayed_changes_total - relaying.relayed_changes_total).toBeGreaterThanOrEqual(8);
      const after = await Promise.all(owners.map((i) => scrapers.scrape(i)));
      after.forEach((m, i) => expect(m.polls_answered_total).toBeGreaterThan(parked[i]!.polls_answered_total));
      expect(after.map((m) => m.polls_busy_total)).toEqual([0, 0]);

      subscriber.close();
      await waitUntil('the relay stopped with its subscription', 20_000, async () => {
        const m = await scrapers.scrape(0);
        return m.relays_running === 0 ? undefined : JSON.stringify(m);
      });
      // The stopped relay's polls stay parked until a write to one of their partitions (or their wait's end) answers them.
      for (const key of keysAcross(1, 'after')) await map.set(key, 'x');
      await waitUntil('no poll parked on the owners', 20_000, async () => {
        const m = await Promise.all(owners.map((i) => scrapers.scrape(i)));
        return m.every((o) => o.polls_parked === 0 && o.parked_bytes === 0) ? undefined : JSON.stringify(m);
      });
    } finally {
      scrapers.close();
    }
  }, 120_000);

  it('a partition that moves to the relaying node goes on from its store above the relay\'s cursor, with its marks', async () => {
    await cluster.start();
    const writer = await cluster.connect();
    await waitFor(() => writer.isRoutingActive(), 'the writer connected', 20_000);
    const map = writer.getMap<string>('moving');
    const kv = (nodes[0]!.node as RunningNode).kvService!;
    const table = nodes[0]!.node.partitionTable()!;
    const relayed = table.assignments.filter((a) => a.owner !== nodes[0]!.id).map((a) => a.partition);
    const heard = new Map<string, number>();
    const marks = new Map<number, number>();
    const adopted = new Map<number, number>();
    let ready = true;
    let caughtUp = false;
    const relay = kv.relay(
      { map: 'moving', key: null, prefix: null },
      relayed,
      new Map(),
      {
        changes: (p: number, changes: readonly KvChange[], mark: number | undefined) => {
          for (const c of changes) heard.set(c.key, p);
          if (mark !== undefined) marks.set(p, mark);
        },
        lost: () => undefined,
        ready: () => ready,
        caughtUp: () => (caughtUp = true),
        adopted: (p: number, epoch: number) => adopted.set(p, epoch),
      },
      20_000,
    );
    try {
      await waitFor(() => caughtUp, 'the relay caught up with every owner', 20_000);
      // The relay is told nothing more (as when its client is behind) while node 1 takes
      // writes, stops, and its backups take over its partitions: node 0 some of them.
      ready = false;
      const keys = keysAcross(12, 'mv').filter((k) => table.assignments[partitionOf(k)]!.owner === nodes[1]!.id);
      for (const key of keys) await map.set(key, 'v');
      await nodes[1]!.node.stop();
      const here = (): string[] => keys.filter((k) => nodes[0]!.node.partitionTable()!.assignments[partitionOf(k)]!.owner === nodes[0]!.id);
      await waitFor(() => here().length > 0 && nodes[0]!.node.partitionTable()!.assignments.every((a) => a.owner !== nodes[1]!.id), 'node 1\'s partitions taken over', 30_000);
      // Not asked of any owner: read from node 0's own store, each with node 0's mark.
      await waitFor(() => here().every((k) => heard.get(k) === partitionOf(k)), `the moved partitions' writes (missing: ${here().filter((k) => !heard.has(k)).join(',')})`, 20_000);
      for (const p of new Set(here().map((k) => partitionOf(k)))) {
        expect(marks.get(p), `mark of ${p}`).toBeGreaterThanOrEqual(0);
        expect(adopted.has(p), `adopted ${p}`).toBe(true);
      }
      // Nothing was heard of the partitions that did not come here: the relay asked no owner.
      expect([...heard].filter(([k]) => keys.includes(k)).every(([, p]) => adopted.has(p))).toBe(true);
      // The rest moved to node 2 and is asked of it from the same cursors once the relay may go on.
      ready = true;
      await waitFor(() => keys.every((k) => heard.has(k)), 'every write of node 1', 20_000);
    } finally {
      relay.stop();
    }
  }, 120_000);

  it('a resumable subscription through the gateway: once a relayed partition moved to its node, that node\'s own live events of it carry marks', async () => {
    await cluster.start();
    const ws = new WebSocket(gateways[0]!.url);
    const frames: ServerFrame[] = [];
    ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 24)));
    ws.on('error', () => undefined);
    try {
      const send = (frame: ClientFrame): void => ws.send(encodeClientFrame(frame));
      await waitFor(() => frames.some((f) => f.type === 'AUTH_REQUIRED'), 'AUTH_REQUIRED', 10_000);
      send({ type: 'AUTH', token: await cluster.token() });
      await waitFor(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK', 10_000);
      // Resumable (a cursor map, empty) and relayed: events of covered partitions carry marks.
      send({ type: 'SUBSCRIBE', sub: { id: 7, map: 'adopt', key: null, prefix: null, since: new Map(), relay: true } });
      await waitFor(() => frames.some((f) => f.type === 'RESULT' && f.id === 7), 'the SUBSCRIBE answer', 20_000);
      const before = nodes[0]!.node.partitionTable()!;
      await nodes[1]!.node.stop();
      const moved = (): number[] => {
        const now = nodes[0]!.node.partitionTable()!;
        return before.assignments.filter((a) => a.owner === nodes[1]!.id && now.assignments[a.partition]!.owner === nodes[0]!.id).map((a) => a.partition);
      };
      await waitFor(() => moved().length > 0 && nodes[0]!.node.partitionTable()!.assignments.every((a) => a.owner !== nodes[1]!.id), 'node 1\'s partitions taken over', 30_000);
      // Written on node 0 as owner: heard from its own events. The relay adopts the
      // partition at its next table check; from then on every such event is marked.
      const partition = moved()[0]!;
      const map = nodes[0]!.node.getMap<string>('adopt');
      const marked = (key: string): boolean => frames.some((f) => f.type === 'EVENT' && f.key === key && f.mark?.partition === partition);
      let i = 0;
      await waitUntil(`a live event of partition ${partition} marked`, 20_000, async () => {
        const key = keyIn(partition, `adopt-${i++}`);
        await map.set(key, 'v');
        await waitFor(() => frames.some((f) => f.type === 'EVENT' && f.key === key), `the event of ${key}`, 10_000);
        return marked(key) ? undefined : `${key} unmarked`;
      });
      // And stays so: the next write's event is marked too.
      const next = keyIn(partition, `adopt-${i}`);
      await map.set(next, 'v');
      await waitFor(() => frames.some((f) => f.type === 'EVENT' && f.key === next), `the event of ${next}`, 10_000);
      expect(marked(next)).toBe(true);
    } finally {
      ws.terminate();
    }
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
