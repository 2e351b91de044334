// The owner's KV write path when its backups refuse the change after the local apply (a
// deposed owner on the minority side: the backup holds a newer epoch, or no longer
// replicates the partition, or does not answer). The value stays on the owner and comes
// back in a later merge, so the answer must be FLO_UNCONFIRMED ("may have taken effect"),
// never NOT_OWNER ("did not run, retry elsewhere"), and the routing layer must not turn
// a retry's refusal into a definite one. Nodes here are real KvHandlers behind real
// RequestRouters, joined by an in-process network.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FlotillaError } from '../../src/core/errors.js';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { partitionOf } from '../../src/core/partition.js';
import { decodeValue, encodeValue } from '../../src/protocol/map-values.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import type { Message, ServiceRequest } from '../../src/protocol/messages.js';
import { compareVersions } from '../../src/grid/kv-codec.js';
import { KvHandlers } from '../../src/grid/kv-handler.js';
import { KV_SERVICE, KvStore } from '../../src/grid/kv-store.js';
import { resolveKvConfig, type KvConfig } from '../../src/grid/kv-config.js';
import { decodeWriteAnswer, encodeOp, KvCall, type KvOp } from '../../src/grid/map-ops.js';
import { resolveRoutingConfig } from '../../src/sharding/config.js';
import { RequestRouter, RoutingClient } from '../../src/sharding/routing.js';
import { SteppedTimers } from '../fixtures/timers.js';

const PARTITIONS = 4;
const KEY = 'k';
const P = partitionOf(KEY, PARTITIONS);

/** A table where every partition has `owner`, `backups` and `epoch`, at `version`. */
function tableOf(version: number, owner: string, backups: string[], epoch: number): ClusterPartitionTable {
  return ClusterPartitionTable.fromData({
    version,
    partitionCount: PARTITIONS,
    assignments: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, owner, backups, epoch })),
  });
}

/** One node: its table (replaceable), its quorum verdict, its store, handlers and router. */
interface TestNode {
  readonly id: string;
  table: ClusterPartitionTable;
  readOnly: boolean;
  /** The table this node switches to when a peer tells it of a newer version. */
  next?: ClusterPartitionTable;
  /** Whether data of a partition is still handed over to this node (the sharding layer's `awaitingData`). */
  awaiting: (partition: number) => boolean;
  readonly store: KvStore;
  readonly handlers: KvHandlers;
  readonly router: RequestRouter;
  readonly clock: ManualClock;
  /** Each acknowledged owner write's key and the partition mark (and its epoch) reported with it. */
  readonly reported: [string, number, number][];
}

/** The in-process network: `node:1` reaches the router of `node`; `silent` ones never answer in time. */
class Net {
  readonly nodes = new Map<string, TestNode>();
  readonly silent = new Set<string>();
  /** Nodes whose answers wait until `release` lets them through, in order. */
  readonly slow = new Set<string>();
  readonly waiting: (() => void)[] = [];
  /** Nodes out of every view (left or declared dead): no address. */
  readonly left = new Set<string>();

  /** `message` from node `from` (its address is `from:1`) to address `to`. */
  async request(to: string, message: Message, from = 'peer'): Promise<Message> {
    const id = to.split(':')[0]!;
    const node = this.nodes.get(id);
    if (node === undefined || this.silent.has(id)) throw new FlotillaError('FLO_TIMEOUT', `${to}: no response`);
    if (this.slow.has(id)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return node.router.serve(`${from}:1`, message as ServiceRequest);
  }

  add(id: string, table: ClusterPartitionTable, readOnly = false, kv: Partial<KvConfig> = {}): TestNode {
    const clock = new ManualClock(1_000);
    const store = new KvStore({ valueBytesMax: 1 << 20, captureBytesMax: 1 << 26 });
    const node = { id, table, readOnly, reported: [], awaiting: () => false } as unknown as TestNode;
    const roleOf = (p: number): 'owner' | 'backup' | 'none' => (node.table.owner(p) === id ? 'owner' : node.table.backups(p).includes(id) ? 'backup' : 'none');
    const observeTableVersion = (v: number): void => {
      if (node.next !== undefined && v >= node.next.version) node.table = node.next;
    };
    const handlers = new KvHandlers({
      self: id,
      table: () => node.table,
      roleOf,
      addressOf: (n) => (this.left.has(n) ? undefined : `${n}:1`),
      request: (to, message) => this.request(to, message, id),
      flushSealed: () => Promise.resolve(),
      observeTableVersion,
      awaitingData: (p) => node.awaiting(p),
      store,
      hlc: new HybridLogicalClock(id, clock),
      config: resolveKvConfig(kv),
      onChange: (change, mark) => node.reported.push([change.key, mark.millis, mark.epoch]),
    });
    const router = new RequestRouter({
      self: id,
      config: resolveRoutingConfig(),
      table: () => node.table,
      addressOf: (n) => `${n}:1`,
      request: (to, message) => this.request(to, message, id),
      readOnly: () => node.readOnly,
    });
    router.register(handlers.owner());
    router.register(handlers.replica());
    Object.assign(node, { store, handlers, router, clock });
    this.nodes.set(id, node);
    return node;
  }
}

function putRequest(value: unknown): ServiceRequest {
  return { type: 'ServiceRequest', service: KV_SERVICE, partition: P, opId: 'c/1', forward: false, payload: encodeOp({ op: 'put', map: 'default', key: KEY, value: encodeValue(value as never) }) };
}

function held(node: TestNode): unknown {
  const entry = node.store.get(P, KEY);
  return entry === undefined ? undefined : decodeValue(entry.value);
}

/** A routing client on node `c`, whose table starts at `table` and moves to `next` when a peer names a newer version. */
function routingClient(net: Net, table: ClusterPartitionTable, next: ClusterPartitionTable): RoutingClient {
  let current = table;
  const timers = new SteppedTimers(1_000);
  return new RoutingClient({
    self: 'c',
    config: resolveRoutingConfig({ opTimeoutMs: 1_000, attemptTimeoutMs: 100, backoffInitialMs: 10, backoffMaxMs: 80 }),
    table: () => current,
    addressOf: (id) => `${id}:1`,
    request: (to, message) => net.request(to, message),
    local: () => Promise.reject(new Error('c owns nothing')),
    observeTableVersion: (v) => {
      if (v >= next.version) current = next;
    },
    timers,
    stopped: () => false,
  });
}

describe('KV owner whose backups refuse the change after the apply', () => {
  it('answers FLO_UNCONFIRMED, not NOT_OWNER, when the backup holds a newer epoch (the owner was deposed)', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    net.add('b', tableOf(6, 'b', [], 2), true);
    const answer = await a.router.serve(undefined, putRequest({ v: 'refused' }));
    expect(answer).toMatchObject({ ok: false, errorCode: 'FLO_UNCONFIRMED' });
    expect(answer.errorMessage).toContain('newer owner');
    expect(held(a)).toEqual({ v: 'refused' });
    expect(a.handlers.counters).toMatchObject({ writes: 1, writesUnconfirmed: 1 });
    expect(net.nodes.get('b')!.handlers.counters.replicasRefused).toBe(1);
  });

  it('answers FLO_UNCONFIRMED, not NOT_OWNER, when the backup is no longer a replica of the partition', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    net.add('b', tableOf(6, 'a', ['d'], 1));
    const answer = await a.router.serve(undefined, putRequest({ v: 'refused' }));
    expect(answer).toMatchObject({ ok: false, errorCode: 'FLO_UNCONFIRMED' });
    expect(answer.errorMessage).toContain('not a replica');
    expect(held(a)).toEqual({ v: 'refused' });
  });

  it('answers FLO_UNCONFIRMED when the backup gives the same epoch to another owner (two table lineages)', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 3));
    const b = net.add('b', tableOf(9, 'd', ['b'], 3));
    const answer = await a.router.serve(undefined, putRequest({ v: 'other lineage' }));
    expect(answer).toMatchObject({ ok: false, errorCode: 'FLO_UNCONFIRMED' });
    expect(held(a)).toEqual({ v: 'other lineage' });
    expect(held(b)).toBeUndefined();
    expect(b.handlers.counters.replicasRefused).toBe(1);
  });

  it('answers FLO_UNCONFIRMED when the backup does not answer', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    net.add('b', tableOf(5, 'a', ['b'], 1));
    net.silent.add('b');
    expect(await a.router.serve(undefined, putRequest({ v: 1 }))).toMatchObject({ ok: false, errorCode: 'FLO_UNCONFIRMED' });
    expect(held(a)).toEqual({ v: 1 });
  });

  it('acknowledges when the backup takes the change (the refusals above are the only difference)', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    const b = net.add('b', tableOf(5, 'a', ['b'], 1));
    const answer = await a.router.serve(undefined, putRequest({ v: 1 }));
    expect(answer).toMatchObject({ type: 'ServiceResponse', opId: 'c/1', ok: true });
    expect(held(b)).toEqual({ v: 1 });
    // The answer names the version the write was stored at, on the owner and the backup alike.
    const version = decodeWriteAnswer(answer.payload).version;
    expect(version).toEqual(a.store.slot(P, 'default', KEY)!.version);
    expect(version).toEqual(b.store.slot(P, 'default', KEY)!.version);
  });
});

describe('kv.writeCopiesMin: the copies a write needs', () => {
  it('refuses a write, retryable and before applying it, while the partition lists no backup', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1), false, { writeCopiesMin: 2 });
    const answer = await a.router.serve(undefined, putRequest({ v: 1 }));
    expect(answer).toMatchObject({ ok: false, errorCode: 'FLO_TOO_FEW_COPIES' });
    expect(answer.errorMessage).toContain('1 live copy');
    expect(held(a)).toBeUndefined();
    expect(a.handlers.counters).toMatchObject({ writes: 0, writesTooFewCopies: 1 });
    expect(a.reported).toEqual([]);
  });

  it('does not count a listed backup that left the view as a copy', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1), false, { writeCopiesMin: 2 });
    net.add('b', tableOf(5, 'a', ['b'], 1));
    net.left.add('b');
    expect(await a.router.serve(undefined, putRequest({ v: 1 }))).toMatchObject({ ok: false, errorCode: 'FLO_TOO_FEW_COPIES' });
    expect(held(a)).toBeUndefined();
  });

  it('acknowledges once the live backup holds the write, and refuses a third copy the table cannot give', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1), false, { writeCopiesMin: 2 });
    const b = net.add('b', tableOf(5, 'a', ['b'], 1));
    expect(await a.router.serve(undefined, putRequest({ v: 1 }))).toMatchObject({ ok: true });
    expect(held(b)).toEqual({ v: 1 });
    const strict = net.add('c', tableOf(5, 'c', ['b'], 1), false, { writeCopiesMin: 3 });
    expect(await strict.router.serve(undefined, putRequest({ v: 2 }))).toMatchObject({ ok: false, errorCode: 'FLO_TOO_FEW_COPIES' });
    expect(held(strict)).toBeUndefined();
  });

  it('is 1 by default: an owner with no backup takes the write alone', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    expect(await a.router.serve(undefined, putRequest({ v: 1 }))).toMatchObject({ ok: true });
    expect(held(a)).toEqual({ v: 1 });
  });
});

describe('KV owner answers to writes', () => {
  it('a put answers [nil, version]; a delete answers [true, version] of its tombstone; a delete of nothing a bare false', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    const put = await a.router.serve(undefined, putRequest('x'));
    expect(decodeWriteAnswer(put.payload)).toEqual({ result: null, version: a.store.slot(P, 'default', KEY)!.version });
    const del = (): ServiceRequest => ({ ...putRequest(null), payload: encodeOp({ op: 'delete', map: 'default', key: KEY }) });
    const first = decodeWriteAnswer((await a.router.serve(undefined, del())).payload);
    const tombstone = a.store.slot(P, 'default', KEY)!;
    expect(tombstone.value).toBeNull();
    expect(first).toEqual({ result: true, version: tombstone.version });
    expect(compareVersions(first.version!, decodeWriteAnswer(put.payload).version!)).toBe(1);
    expect(decodeWriteAnswer((await a.router.serve(undefined, del())).payload)).toEqual({ result: false, version: undefined });
  });

  it('a call made on the owner itself (no bytes) stores a copy of the value and answers as the byte path does', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    const value = encodeValue('local');
    const local = a.handlers.owner().handleLocal!(P, new KvCall({ op: 'put', map: 'default', key: KEY, value }));
    const answer = decodeWriteAnswer(await local);
    expect(answer).toEqual({ result: null, version: a.store.slot(P, 'default', KEY)!.version });
    value.fill(0);
    expect(held(a)).toEqual('local');
    const read = (op: KvOp): Promise<Uint8Array | undefined> => a.handlers.owner().handleLocal!(P, new KvCall(op));
    const viaBytes = await a.router.serve(undefined, { ...putRequest(null), payload: encodeOp({ op: 'getVersioned', map: 'default', key: KEY }) });
    expect(await read({ op: 'getVersioned', map: 'default', key: KEY })).toEqual(viaBytes.payload);
    // The checks of the byte path's decode: a key of another partition, an internal map name, a value past the bound.
    const other = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => partitionOf(k, PARTITIONS) !== P)!;
    expect(() => read({ op: 'get', map: 'default', key: other })).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => read({ op: 'get', map: '\u0001or:m', key: KEY })).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => read({ op: 'put', map: 'default', key: KEY, value: new Uint8Array(resolveKvConfig().valueBytesMax + 1) })).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('refuses a malformed write answer with FLO_INVALID_ARGUMENT', () => {
    expect(() => decodeWriteAnswer(encodeValue([true, 1, 0]))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => decodeWriteAnswer(encodeValue([1, 1, 0, 'n']))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(decodeWriteAnswer(undefined)).toEqual({ result: null, version: undefined });
  });
});

describe('the owner`s resume marks', () => {
  async function settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  it('stay below the newest acknowledged write and every write still in flight', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    net.add('b', tableOf(5, 'a', ['b'], 1));
    const other = Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => partitionOf(k, PARTITIONS) === P)!;
    expect(a.handlers.markOf(P)).toBeUndefined();
    expect(a.handlers.markOf(P, 700)).toBe(699);
    a.clock.set(1_000);
    await a.router.serve(undefined, putRequest('w0'));
    expect(a.handlers.markOf(P)).toBe(999);

    net.slow.add('b');
    a.clock.set(2_000);
    const w1 = a.router.serve(undefined, putRequest('w1'));
    a.clock.set(3_000);
    const w2 = a.router.serve(undefined, { ...putRequest('w2'), payload: encodeOp({ op: 'put', map: 'default', key: other, value: encodeValue('w2') }) });
    await settle();
    // Both applied, neither acknowledged: the mark stays below the older one.
    expect(net.waiting).toHaveLength(2);
    expect(a.handlers.markOf(P)).toBe(999);
    // The later write is acknowledged first: its event's mark must not pass the one still in flight.
    net.waiting[1]!();
    await w2;
    expect(a.reported.at(-1)).toEqual([other, 1_999, 1]);
    net.waiting[0]!();
    await w1;
    expect(a.reported.at(-1)).toEqual([KEY, 2_999, 1]);
    expect(a.handlers.markOf(P)).toBe(2_999);
  });

  it('move up to what a merge stored, which is reported like a write; later writes come in a later millisecond', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    a.clock.set(1_000);
    await a.router.serve(undefined, putRequest('w0'));
    expect(a.handlers.markOf(P)).toBe(999);
    // The other side of a split wrote the key earlier; this side's merge stores it (newer than w0 by version).
    a.clock.set(5_000);
    const stamp = a.handlers.stamp();
    const change = { kind: 'put' as const, key: KEY, entry: { value: encodeValue('theirs'), version: { millis: 1_500, counter: 0, node: 'z' } } };
    expect(a.store.apply(P, change)).toBe(true);
    a.handlers.merged(P, [change], stamp);
    // The mark stands at the stamp: a cursor there holds the merged change.
    expect(a.reported.at(-1)).toEqual([KEY, stamp, 1]);
    expect(stamp).toBe(5_000);
    // The next write falls in a later millisecond than the stamp, even on the same clock reading.
    await a.router.serve(undefined, putRequest('w1'));
    const version = a.store.get(P, KEY)!.version;
    expect(version.millis).toBeGreaterThan(stamp);
    expect(a.handlers.markOf(P)).toBe(version.millis - 1);
  });
});

describe('routing a write whose first attempt was applied but not confirmed', () => {
  /** a: deposed owner (table 5); b: new owner at epoch 2 (table 6), read-only or not; c routes. */
  function deposed(bReadOnly: boolean): { net: Net; a: TestNode; b: TestNode; client: RoutingClient } {
    const net = new Net();
    const newer = tableOf(6, 'b', [], 2);
    const a = net.add('a', tableOf(5, 'a', ['b'], 1));
    a.next = newer;
    const b = net.add('b', newer, bReadOnly);
    return { net, a, b, client: routingClient(net, tableOf(5, 'a', ['b'], 1), newer) };
  }

  it('never reports the retry\'s FLO_READ_ONLY as a definite refusal: the call fails FLO_UNCONFIRMED, outcome unknown', async () => {
    const { a, client } = deposed(true);
    const call = client.call(KV_SERVICE, P, putRequest({ v: 'refused' }).payload);
    await expect(call).rejects.toMatchObject({ code: 'FLO_UNCONFIRMED', details: { outcomeUnknown: true, firstError: 'FLO_UNCONFIRMED', lastError: 'FLO_READ_ONLY' } });
    // The caller was told "may have taken effect", and indeed it did.
    expect(held(a)).toEqual({ v: 'refused' });
  });

  it('retries at the new owner and succeeds there when it is writable', async () => {
    const { a, b, client } = deposed(false);
    expect(decodeWriteAnswer(await client.call(KV_SERVICE, P, putRequest({ v: 2 }).payload)).version).toEqual(b.store.slot(P, 'default', KEY)!.version);
    expect(held(a)).toEqual({ v: 2 });
    expect(held(b)).toEqual({ v: 2 });
  });
});

function getRequest(op: 'get' | 'getVersioned' | 'entries' = 'get'): ServiceRequest {
  const payload = op === 'entries' ? encodeOp({ op, map: 'default', after: null }) : encodeOp({ op, map: 'default', key: KEY });
  return { type: 'ServiceRequest', service: KV_SERVICE, partition: P, opId: 'c/2', forward: false, payload };
}

describe('KV owner whose partition data is still handed over after a merge', () => {
  it('answers a read of an absent key FLO_PARTITION_SYNCING (retryable), never "absent"', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    a.awaiting = (p) => p === P;
    for (const op of ['get', 'getVersioned', 'entries'] as const) {
      expect(await a.router.serve(undefined, getRequest(op))).toMatchObject({ ok: false, errorCode: 'FLO_PARTITION_SYNCING' });
    }
    expect(a.handlers.counters.readsHeld).toBe(3);
  });

  it('answers a key it holds at once, and "absent" once nothing is on its way', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    expect(await a.router.serve(undefined, getRequest())).toEqual({ type: 'ServiceResponse', opId: 'c/2', ok: true });
    expect(await a.router.serve(undefined, putRequest({ v: 1 }))).toMatchObject({ ok: true });
    a.awaiting = () => true;
    const answer = await a.router.serve(undefined, getRequest());
    expect(answer.ok).toBe(true);
    expect(decodeValue(answer.payload!)).toEqual({ v: 1 });
  });

  it('is retried by routing until the handed-over value arrives', async () => {
    const net = new Net();
    const a = net.add('a', tableOf(5, 'a', [], 1));
    let asked = 0;
    a.awaiting = () => {
      // The handed-over value arrives while the second read is held; the third finds it.
      if (++asked === 2) a.store.apply(P, { kind: 'put', map: 'default', key: KEY, entry: { value: encodeValue({ v: 'merged' } as never), version: { millis: 1, counter: 0, node: 'x' } } });
      return true;
    };
    const client = routingClient(net, tableOf(5, 'a', [], 1), tableOf(5, 'a', [], 1));
    const payload = await client.call(KV_SERVICE, P, getRequest().payload);
    expect(decodeValue(payload!)).toEqual({ v: 'merged' });
    expect(a.handlers.counters.readsHeld).toBe(2);
  });
});
