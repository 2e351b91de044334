// The relaying side of a subscription, on virtual time: one poll loop per owner of the
// partitions the relaying node does not own, each owner a real `kv.watch` handler over
// its own store, joined by an in-process request function. A partition that moves to
// another owner is asked of it from the same cursor, a poll that fails is retried after
// a backoff on the host's timers, a partition that moves to the relaying node is read from
// its own store above the cursor, and a stopped relay asks nothing more.
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import type { KvChange } from '../../src/grid/kv-codec.js';
import { KvStore } from '../../src/grid/kv-store.js';
import { WatchHandler } from '../../src/grid/watch-handler.js';
import { RELAY_BACKOFF_MIN_MS, RELAY_PAUSE_MS, RELAY_TABLE_CHECK_MS, WatchRelay, type LocalReplay, type RelaySink } from '../../src/grid/watch-relay.js';
import { asChange } from '../../src/grid/change-replay.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import type { Message, ServiceRequest } from '../../src/protocol/messages.js';
import { HeldTimers } from '../fixtures/timers.js';

const PARTITIONS = 4;

/** Owners by partition: `a` is the relaying node. */
function tableOf(version: number, owners: string[]): ClusterPartitionTable {
  return ClusterPartitionTable.fromData({ version, partitionCount: PARTITIONS, assignments: owners.map((owner, partition) => ({ partition, owner, backups: [], epoch: version })) });
}

interface Owner {
  readonly store: KvStore;
  readonly watch: WatchHandler;
  down: boolean;
}

interface Setup {
  timers: HeldTimers;
  owners: Map<string, Owner>;
  net: { table: ClusterPartitionTable };
  heard: [number, string, number | undefined][];
  lost: number[];
  client: { ready: boolean };
  relay: (since: ReadonlyMap<number, number> | null) => WatchRelay;
  put: (node: string, p: number, key: string, millis: number) => void;
  /** The relaying node's own store: what a partition that moves to it is read from. */
  mine: KvStore;
  adopted: [number, number][];
}

function setUp(): Setup {
  const timers = new HeldTimers();
  const net = { table: tableOf(1, ['a', 'b', 'b', 'c']) };
  const owners = new Map<string, Owner>();
  for (const id of ['b', 'c']) {
    const store = new KvStore({ valueBytesMax: 1024, captureBytesMax: 1024 * 1024 });
    const watch = new WatchHandler({
      store,
      timers,
      roleOf: (p) => (net.table.owner(p) === id ? 'owner' : 'none'),
      markOf: (p) => {
        const newest = store.newestMillis(p);
        return newest === undefined ? undefined : newest - 1;
      },
      stopped: () => false,
    });
    owners.set(id, { store, watch, down: false });
  }
  const heard: [number, string, number | undefined][] = [];
  const lost: number[] = [];
  const adopted: [number, number][] = [];
  const client = { ready: true };
  const sink: RelaySink = {
    changes: (p, changes, mark) => changes.forEach((c, i) => heard.push([p, c.key, i === changes.length - 1 ? mark : undefined])),
    lost: (p) => lost.push(p),
    ready: () => client.ready,
    adopted: (p, epoch) => adopted.push([p, epoch]),
  };
  const request = requestOf(owners);
  const mine = new KvStore({ valueBytesMax: 1024, captureBytesMax: 1024 * 1024 });
  const replayHere = (p: number, cursor: number): LocalReplay | undefined => {
    if (net.table.owner(p) !== 'a') return undefined;
    const changes = mine.slotsAbove(p, 'm', cursor, () => true).map(([key, slot]) => asChange('m', key, slot));
    const newest = mine.newestMillis(p);
    return { changes, mark: newest === undefined ? undefined : newest - 1, epoch: net.table.epoch(p), lost: false };
  };
  const deps = { self: 'a', table: () => net.table, addressOf: (id: string) => id, request, timers, stopped: () => false, observeTableVersion: () => undefined, valueBytesMax: 1024, replayHere };
  const put = (node: string, p: number, key: string, millis: number): void => {
    const change: KvChange = { kind: 'put', map: 'm', key, entry: { value: new Uint8Array([1]), version: { millis, counter: 0, node } } };
    owners.get(node)!.store.apply(p, change);
    owners.get(node)!.watch.onChange(p, 'm');
  };
  const relay = (since: ReadonlyMap<number, number> | null): WatchRelay => new WatchRelay(deps, { map: 'm', key: null, prefix: null }, [1, 2, 3], since, sink).start();
  return { timers, owners, net, heard, lost, client, relay, put, mine, adopted };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

describe('subscription relay', () => {
  it('polls each owner from the cursors, and hears their writes with the marks they reach', async () => {
    const { owners, heard, relay, put } = setUp();
    put('b', 1, 'old', 100);
    put('b', 2, 'x', 200);
    put('c', 3, 'y', 300);
    const r = relay(new Map([[1, 150]]));
    await settle();
    // Partition 1 from its cursor (nothing above it), 2 and 3 whole.
    expect(heard).toEqual([
      [2, 'x', 199],
      [3, 'y', 299],
    ]);
    expect(owners.get('b')!.watch.parkedCount() + owners.get('c')!.watch.parkedCount()).toBe(2);
    put('b', 1, 'z', 400);
    await settle();
    expect(heard.at(-1)).toEqual([1, 'z', 399]);
    r.stop();
  });

  it('asks a moved partition of its new owner from the same cursor, and retries a failed poll after a backoff', async () => {
    const { timers, owners, net, heard, relay, put } = setUp();
    const r = relay(null);
    await settle();
    put('b', 2, 'k1', 500);
    await settle();
    expect(heard).toEqual([[2, 'k1', 499]]);

    // b stops (its parked poll answered, later ones fail); its last write k2 reached its
    // backup c, and the table moves 1 and 2 to c.
    const b = owners.get('b')!;
    b.down = true;
    b.watch.stop();
    await settle();
    const change: KvChange = { kind: 'put', map: 'm', key: 'k2', entry: { value: new Uint8Array([1]), version: { millis: 600, counter: 0, node: 'b' } } };
    b.store.apply(2, change);
    owners.get('c')!.store.apply(2, change);
    expect(r.counters.failures).toBeGreaterThan(0);
    const bPolls = b.watch.counters.polls;
    net.table = tableOf(2, ['a', 'c', 'c', 'c']);
    timers.advance(RELAY_TABLE_CHECK_MS);
    await settle();
    // c's parked poll asked for partition 3 only: a fresh loop asks c for 1, 2 and 3 from the cursors.
    expect(heard.at(-1)).toEqual([2, 'k2', 599]);
    expect(b.watch.counters.polls).toBe(bPolls);
    expect(heard.filter(([, key]) => key === 'k1').length).toBe(1);
    put('c', 1, 'k3', 700);
    await settle();
    expect(heard.at(-1)).toEqual([1, 'k3', 699]);

    // A poll to an unreachable owner is retried after a backoff, and succeeds once it is back.
    owners.get('c')!.down = true;
    owners.get('c')!.watch.stop();
    const failed = r.counters.failures;
    await settle();
    expect(r.counters.failures).toBeGreaterThan(failed);
    owners.get('c')!.down = false;
    put('c', 3, 'k4', 800);
    timers.advance(RELAY_BACKOFF_MIN_MS);
    await settle();
    expect(heard.at(-1)).toEqual([3, 'k4', 799]);

    r.stop();
    const polls = r.counters.polls;
    put('c', 3, 'k5', 900);
    timers.advance(60_000);
    await settle();
    expect(r.counters.polls).toBe(polls);
    expect(heard.map(([, key]) => key)).not.toContain('k5');
  });

  it('asks nothing while the client is behind, and goes on from its cursors once it caught up', async () => {
    const { timers, owners, heard, client, relay, put } = setUp();
    const r = relay(new Map());
    await settle();
    client.ready = false;
    put('b', 1, 'while-behind', 500);
    await settle();
    // The parked poll answered with the write; the next poll waits for the client.
    expect(heard.map(([, key]) => key)).toEqual(['while-behind']);
    const polls = r.counters.polls;
    put('b', 2, 'later', 600);
    timers.advance(RELAY_PAUSE_MS);
    await settle();
    expect(r.counters.polls).toBe(polls);
    client.ready = true;
    timers.advance(RELAY_PAUSE_MS);
    await settle();
    expect(heard.at(-1)).toEqual([2, 'later', 599]);
    expect(owners.get('b')!.watch.parkedCount()).toBe(1);
    r.stop();
  });

  it('tells the sink of deletes collected above its cursor', async () => {
    const { owners, lost, relay } = setUp();
    const c = owners.get('c')!.store;
    c.apply(3, { kind: 'delete', map: 'm', key: 'gone', version: { millis: 500, counter: 0, node: 'c' } });
    c.collectTombstones(600);
    const r = relay(new Map([[3, 100]]));
    await settle();
    expect(lost).toEqual([3]);
    r.stop();
  });

  it('reports caught up once every partition was answered in full, or when its wait runs out', async () => {
    const first = setUp();
    let caught = 0;
    const sink: RelaySink = { changes: () => undefined, lost: () => undefined, ready: () => true, caughtUp: () => caught++ };
    first.put('b', 1, 'x', 500);
    const deps = (s: Setup) => ({ self: 'a', table: () => s.net.table, addressOf: (id: string) => id, request: requestOf(s.owners), timers: s.timers, stopped: () => false, observeTableVersion: () => undefined, valueBytesMax: 1024 });
    const r = new WatchRelay(deps(first), { map: 'm', key: null, prefix: null }, [1, 2, 3], new Map(), sink).start(5_000);
    await settle();
    expect(caught).toBe(1);
    expect([1, 2, 3].map((p) => r.caughtUpWith(p))).toEqual([true, true, true]);
    expect(r.cursorOf(1)).toBe(499);
    r.stop();

    const second = setUp();
    second.owners.get('c')!.down = true;
    const slow = new WatchRelay(deps(second), { map: 'm', key: null, prefix: null }, [1, 2, 3], new Map(), sink).start(5_000);
    await settle();
    expect(caught).toBe(1);
    second.timers.advance(5_000);
    await settle();
    expect(caught).toBe(2);
    expect([1, 2, 3].map((p) => slow.caughtUpWith(p))).toEqual([true, true, false]);
    slow.stop();
  });
  it('reads a partition that moves to the relaying node from its own store above the cursor, once per epoch; its next owner is asked for what is newer', async () => {
    const { timers, net, heard, adopted, relay, put, mine } = setUp();
    put('b', 1, 'k1', 100);
    const r = relay(new Map([[1, 50], [2, 50], [3, 50]]));
    await settle();
    expect(heard).toEqual([[1, 'k1', 99]]);
    // b acknowledged k2 and k3 that the relay was not told (it was behind), then partition 1
    // moved to a with them.
    const change = (key: string, millis: number): KvChange => ({ kind: 'put', map: 'm', key, entry: { value: new Uint8Array([1]), version: { millis, counter: 0, node: 'b' } } });
    mine.apply(1, change('k1', 100));
    mine.apply(1, change('k2', 200));
    mine.apply(1, change('k3', 300));
    net.table = tableOf(2, ['a', 'a', 'b', 'c']);
    timers.advance(RELAY_TABLE_CHECK_MS);
    await settle();
    expect(heard.slice(1)).toEqual([
      [1, 'k2', undefined],
      [1, 'k3', 299],
    ]);
    expect(adopted).toEqual([[1, 2]]);
    // A new epoch with the partition still here: adopted again, nothing told twice.
    net.table = tableOf(3, ['a', 'a', 'b', 'c']);
    timers.advance(RELAY_TABLE_CHECK_MS);
    await settle();
    expect(heard).toHaveLength(3);
    expect(adopted).toEqual([[1, 2], [1, 3]]);

    // It moves on to c: asked from the mark reached here (299), and k4 above it is heard.
    put('c', 1, 'k4', 400);
    net.table = tableOf(4, ['a', 'c', 'b', 'c']);
    timers.advance(RELAY_TABLE_CHECK_MS);
    await settle();
    expect(heard.slice(3).map(([p, k]) => [p, k])).toEqual([[1, 'k4']]);
    r.stop();
  });
});

/** The in-process request function reaching `owners`. */
function requestOf(owners: ReadonlyMap<string, Owner>): (to: string, message: Message) => Promise<Message> {
  return async (to, message) => {
    const owner = owners.get(to)!;
    if (owner.down) throw new FlotillaError('FLO_CONNECTION_FAILED', `${to} is down`);
    const payload = await owner.watch.poll((message as ServiceRequest).payload);
    return { type: 'ServiceResponse', opId: (message as ServiceRequest).opId, ok: true, payload };
  };
}
