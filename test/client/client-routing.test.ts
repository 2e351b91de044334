// The sans-IO client against scripted in-memory gateways on a manual clock: routing to
// owners with one BATCH per node and turn, NOT_OWNER refresh and retry, failover through
// a forwarding node, reconnect backoff with jitter, and the circuit breaker; and the
// routing table's choice between maps of writable and read-only nodes during a split.
import { describe, expect, it } from 'vitest';
import { FlotillaClient } from '../../src/client/flotilla-client.js';
import { RoutingTable } from '../../src/client/routing-table.js';
import { partitionOf } from '../../src/core/partition.js';
import { SeededRandom } from '../../src/core/random.js';
import type { TimerHandle, Timers } from '../../src/core/timers.js';
import type { ClientFrame, ClientOp, ClientPartitionMap, ServerFrame } from '../../src/protocol/client-frames.js';
import { encodeValue } from '../../src/protocol/map-values.js';
import { ScriptedSocket } from './scripted-socket.js';

/** A clock that moves only when told; timers fire in order as it passes them. */
class ManualTimers implements Timers {
  time = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  readonly waits: number[] = [];
  now(): number {
    return this.time;
  }
  at(at: number, fn: () => void): TimerHandle {
    const t = { at, fn, live: true };
    this.timers.push(t);
    this.waits.push(at - this.time);
    return { cancel: () => (t.live = false) };
  }
  defer(fn: () => void): void {
    queueMicrotask(fn);
  }
  /** Move the clock by `ms`, firing due timers (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

type Handler = (op: ClientOp, gw: FakeGateway) => ServerFrame | undefined;

/** One scripted gateway: accepts any token, answers ops with `handler`. */
class FakeGateway {
  readonly frames: ClientFrame[] = [];
  readonly sockets: FakeSocket[] = [];
  up = true;
  constructor(
    readonly nodeId: string,
    readonly url: string,
    public map: () => ClientPartitionMap,
    public handler: Handler,
  ) {}
  receive(socket: FakeSocket, frame: ClientFrame): void {
    this.frames.push(frame);
    if (frame.type === 'AUTH') {
      socket.reply({ type: 'AUTH_ACK', nodeId: this.nodeId, expiresAt: null });
      socket.reply({ type: 'PARTITION_MAP', map: this.map() });
    } else if (frame.type === 'MAP_REQUEST') socket.reply({ type: 'PARTITION_MAP', map: this.map() });
    else for (const op of frame.type === 'OP' ? [frame.op] : frame.type === 'BATCH' ? frame.ops : []) {
      const reply = this.handler(op, this);
      if (reply !== undefined) socket.reply(reply);
    }
  }
  /** Close every socket (a crash). */
  crash(): void {
    this.up = false;
    for (const s of this.sockets) s.drop();
  }
}

class FakeSocket extends ScriptedSocket {
  constructor(private readonly gateway: FakeGateway | undefined) {
    super();
  }
  /** Refused while the gateway is down, as a crashed node's port is. */
  protected override accept(): void {
    if (this.gateway === undefined || !this.gateway.up) {
      this.drop();
      return;
    }
    this.gateway.sockets.push(this);
    super.accept();
  }
  /** Handled a turn later, as a network delivers it. */
  protected receive(frame: ClientFrame): void {
    queueMicrotask(() => this.gateway?.receive(this, frame));
  }
}

/** Reads answer 'v' at version (1, 0, n0), as an owner's versioned read does. */
const ok: Handler = (op) => ({ type: 'RESULT', id: op.id, payload: op.op === 'get' ? encodeValue([encodeValue('v'), 1, 0, 'n0']) : null });

function world(count: number, partitionsOf: (i: number) => number[] = () => [], seeds = 1) {
  const timers = new ManualTimers();
  const gateways: FakeGateway[] = [];
  const map = (): ClientPartitionMap => {
    const owners = Array.from({ length: 271 }, (_, p) => p % count);
    for (let i = 0; i < count; i++) for (const p of partitionsOf(i)) owners[p] = i;
    return { version: 5, partitionCount: 271, owners, nodes: gateways.map((g) => ({ nodeId: g.nodeId, url: g.url })), writable: true };
  };
  for (let i = 0; i < count; i++) gateways.push(new FakeGateway(`n${i}`, `ws://n${i}`, map, ok));
  const Socket = class extends FakeSocket {
    constructor(url: string) {
      super(gateways.find((g) => g.url === url));
    }
  };
  const client = new FlotillaClient({ cluster: { seeds: gateways.slice(0, seeds).map((g) => g.url) }, authToken: 't', WebSocket: Socket, timers, random: new SeededRandom(1) });
  return { timers, gateways, client };
}

/** A key whose partition is owned by node `i` of `count` in `world`'s default map. */
function keyOwnedBy(i: number, count: number, skip = 0): string {
  let found = 0;
  for (let n = 0; ; n++) if (partitionOf(`k${n}`) % count === i && found++ === skip) return `k${n}`;
}

const opsOf = (g: FakeGateway): ClientOp[] => g.frames.flatMap((f) => (f.type === 'OP' ? [f.op] : f.type === 'BATCH' ? [...f.ops] : []));

describe('FlotillaClient routing (sans-IO)', () => {
  it('sends each key to its owner unforwarded, one BATCH per node and turn', async () => {
    const { timers, gateways, client } = world(2);
    await timers.advance(10);
    expect(client.getConnectedNodes().map((n) => n.nodeId).sort()).toEqual(['n0', 'n1']);
    const m = client.getMap('m');
    const keys = [keyOwnedBy(0, 2), keyOwnedBy(0, 2, 1), keyOwnedBy(1, 2)];
    const done = Promise.all(keys.map((k) => m.set(k, 1)));
    await timers.advance(10);
    await done;
    expect(opsOf(gateways[0]!).map((o) => [o.key, o.forward])).toEqual([[keys[0], false], [keys[1], false]]);
    expect(gateways[0]!.frames.filter((f) => f.type === 'BATCH')).toHaveLength(1);
    expect(opsOf(gateways[1]!).map((o) => [o.key, o.forward])).toEqual([[keys[2], false]]);
    expect(client.isRoutingActive()).toBe(true);
    expect(client.getClusterStats()).toMatchObject({ mapVersion: 5, partitionCount: 271, nodeCount: 2, isStale: false });
    client.close();
  });

  it('on NOT_OWNER refreshes the map and retries at the owner it names', async () => {
    const key = keyOwnedBy(0, 2);
    let moved = false;
    const { timers, gateways, client } = world(2, (i) => (moved && i === 1 ? [partitionOf(key)] : []));
    gateways[0]!.handler = (op, gw) => {
      if (op.key !== key) return ok(op, gw);
      moved = true;
      return { type: 'ERROR', id: op.id, code: 'FLO_NOT_OWNER', message: 'moved', owner: { nodeId: 'n1', url: 'ws://n1' }, mapVersion: 6 };
    };
    await timers.advance(10);
    const read = client.getMap('m').get(key);
    await timers.advance(200);
    expect(await read).toBe('v');
    expect(gateways[0]!.frames.some((f) => f.type === 'MAP_REQUEST')).toBe(true);
    expect(opsOf(gateways[1]!).map((o) => [o.key, o.forward])).toEqual([[key, false]]);
    client.close();
  });

  it('sends a dead owner`s keys to a live node with forward set, and the write waits while no node is up', async () => {
    const { timers, gateways, client } = world(2);
    await timers.advance(10);
    gateways[1]!.crash();
    await timers.advance(1);
    const key = keyOwnedBy(1, 2);
    const write = client.getMap('m').set(key, 2);
    await timers.advance(10);
    await write;
    expect(opsOf(gateways[0]!).map((o) => [o.key, o.forward])).toEqual([[key, true]]);

    gateways[0]!.crash();
    await timers.advance(1);
    const offline = client.getMap('m').set(key, 3);
    expect(await client.getMap('m').get(key)).toBe(3);
    expect(client.pendingWrites()).toBe(1);
    gateways[0]!.up = true;
    await timers.advance(10_000);
    await offline;
    expect(client.pendingWrites()).toBe(0);
    client.close();
  });

  it('reconnects with exponential backoff and jitter, capped, and opens the breaker after repeated failures', async () => {
    const { timers, gateways, client } = world(1);
    await timers.advance(10);
    gateways[0]!.crash();
    timers.waits.length = 0;
    await timers.advance(60_000);
    // Reconnect waits (besides the map refresh timer): each within 50-100% of base * 2^n, capped at 5 s, the breaker's 5 s cooldown once open.
    const reconnects = timers.waits.filter((w) => w !== 10_000);
    expect(reconnects.length).toBeGreaterThan(5);
    reconnects.slice(0, 2).forEach((w, n) => {
      expect(w).toBeGreaterThanOrEqual(50 * 2 ** n);
      expect(w).toBeLessThanOrEqual(100 * 2 ** n);
    });
    // From the third failure on the breaker holds the node out for its cooldown.
    for (const w of reconnects.slice(2)) expect(w).toBeGreaterThanOrEqual(2_500);
    for (const w of reconnects) expect(w).toBeLessThanOrEqual(5_000);
    expect(client.isRoutingActive()).toBe(false);
    gateways[0]!.up = true;
    await timers.advance(6_000);
    expect(client.getConnectedNodes()).toHaveLength(1);
    client.close();
  });

  it('never lets a read go back in time: an older version than one seen yields the newer value', async () => {
    const { timers, gateways, client } = world(1);
    const answers = [['new', 5], ['old', 3], ['newest', 7]] as const;
    let i = 0;
    gateways[0]!.handler = (op) => {
      const [value, millis] = answers[Math.min(i++, answers.length - 1)]!;
      return { type: 'RESULT', id: op.id, payload: encodeValue([encodeValue(value), millis, 0, 'n0']) };
    };
    await timers.advance(10);
    const m = client.getMap('m');
    const reads: unknown[] = [];
    for (let r = 0; r < 3; r++) {
      const read = m.get('k');
      await timers.advance(10);
      reads.push(await read);
    }
    expect(reads).toEqual(['new', 'new', 'newest']);
    client.close();
  });
});

/** A map of `version` from a node that is `writable` or not, every partition owned by its first node. */
function mapOf(version: number, writable: boolean, nodes: readonly string[] = ['a']): ClientPartitionMap {
  return { version, partitionCount: 4, owners: [0, 0, 0, 0], nodes: nodes.map((n) => ({ nodeId: n, url: `ws://${n}` })), writable };
}

describe('RoutingTable: writable maps first (sans-IO)', () => {
  type Step = readonly [from: string, version: number, writable: boolean, taken: boolean];
  it.each<[string, Step[]]>([
    ['a writable node`s map beats a read-only one whatever the versions', [['ws://x', 9, false, true], ['ws://a', 3, true, true], ['ws://y', 12, false, false]]],
    ['among writable maps the higher version wins', [['ws://a', 5, true, true], ['ws://b', 4, true, false], ['ws://b', 6, true, true]]],
    ['among read-only maps the higher version wins', [['ws://x', 5, false, true], ['ws://y', 4, false, false], ['ws://y', 7, false, true]]],
    ['the sender of the held map may take back its writability, and then any writable map wins', [['ws://a', 5, true, true], ['ws://a', 5, false, true], ['ws://b', 2, true, true]]],
    ['a sender that turns writable again is taken whatever the version', [['ws://a', 5, false, true], ['ws://a', 4, true, true], ['ws://b', 3, true, false]]],
  ])('%s', (_name, steps) => {
    const table = new RoutingTable();
    steps.forEach(([from, version, writable, taken], i) => {
      expect([i, table.accept(mapOf(version, writable), i, from)]).toEqual([i, taken]);
      if (taken) expect(table.stats(i, 1_000)).toMatchObject({ mapVersion: version, mapWritable: writable, lastRefresh: i });
    });
  });

  it('noteReadOnly demotes the held map only when its sender refused a write', () => {
    const table = new RoutingTable();
    expect(table.noteReadOnly('ws://a')).toBe(false);
    table.accept(mapOf(9, true, ['a', 'b']), 0, 'ws://a');
    expect(table.noteReadOnly('ws://b')).toBe(false);
    expect(table.isWritable()).toBe(true);
    expect(table.accept(mapOf(4, true, ['c']), 1, 'ws://c')).toBe(false);
    expect(table.noteReadOnly('ws://a')).toBe(true);
    expect(table.noteReadOnly('ws://a')).toBe(false);
    expect(table.stats(2, 1_000)).toMatchObject({ mapVersion: 9, mapWritable: false });
    expect(table.accept(mapOf(10, false, ['x']), 2, 'ws://x')).toBe(true);
    expect(table.accept(mapOf(4, true, ['c']), 3, 'ws://c')).toBe(true);
    expect(table.ownerOf('k')?.url).toBe('ws://c');
    expect([table.hasNode('ws://c'), table.hasNode('ws://a')]).toEqual([true, false]);
  });
});

/** A put refused as a read-only node refuses it (retryable, with the node's own table version). */
const readOnly = (version: number): Handler => (op, gw) => (op.op === 'put' ? { type: 'ERROR', id: op.id, code: 'FLO_READ_ONLY', message: 'minority', owner: null, mapVersion: version } : ok(op, gw));

describe('FlotillaClient during a split (sans-IO)', () => {
  // n0 is the minority (read-only) side, n1 and n2 the majority: the majority's map lists only them, the minority's only n0.
  const majorityMap = (): ClientPartitionMap => ({ version: 5, partitionCount: 271, owners: Array.from({ length: 271 }, (_, p) => 1 + (p % 2)), nodes: ['n0', 'n1', 'n2'].map((n) => ({ nodeId: n, url: `ws://${n}` })), writable: true });
  const majorityOwned = (node: number): string => {
    for (let n = 0; ; n++) if (1 + (partitionOf(`s${n}`) % 2) === node) return `s${n}`;
  };

  it('routes writes by the writable side`s map although the read-only side`s has the higher version', async () => {
    const { timers, gateways, client } = world(3, () => [], 2);
    gateways[0]!.map = () => ({ version: 9, partitionCount: 271, owners: Array.from({ length: 271 }, () => 0), nodes: [{ nodeId: 'n0', url: 'ws://n0' }], writable: false });
    gateways[0]!.handler = readOnly(9);
    for (const g of gateways.slice(1)) g.map = majorityMap;
    await timers.advance(10);
    expect(client.getClusterStats()).toMatchObject({ mapVersion: 5, mapWritable: true });
    const keys = [majorityOwned(1), majorityOwned(2)];
    const writes = Promise.all(keys.map((k, i) => client.getMap('m').set(k, i)));
    await timers.advance(100);
    await writes;
    expect(opsOf(gateways[0]!)).toEqual([]);
    expect(opsOf(gateways[1]!).map((o) => [o.key, o.forward])).toEqual([[keys[0], false]]);
    expect(opsOf(gateways[2]!).map((o) => [o.key, o.forward])).toEqual([[keys[1], false]]);
    client.close();
  });

  it('on FLO_READ_ONLY demotes the refusing node`s map, asks every node for its map, and retries on the writable side', async () => {
    const { timers, gateways, client } = world(3, () => [], 2);
    let minorityWritable = true;
    gateways[0]!.map = () => ({ version: 9, partitionCount: 271, owners: Array.from({ length: 271 }, () => 0), nodes: [{ nodeId: 'n0', url: 'ws://n0' }], writable: minorityWritable });
    for (const g of gateways.slice(1)) g.map = majorityMap;
    await timers.advance(10);
    // n0's verdict flips, and its push has not reached the client yet.
    expect(client.getClusterStats()).toMatchObject({ mapVersion: 9, mapWritable: true });
    minorityWritable = false;
    gateways[0]!.handler = readOnly(9);
    const key = majorityOwned(2);
    const write = client.getMap('m').set(key, 1);
    await timers.advance(200);
    await write;
    expect(opsOf(gateways[0]!).map((o) => o.key)).toEqual([key]);
    expect(gateways.slice(0, 2).every((g) => g.frames.some((f) => f.type === 'MAP_REQUEST'))).toBe(true);
    // n2 was not connected while n0's map was held: the retry reaches it directly or through n1.
    expect([...opsOf(gateways[1]!), ...opsOf(gateways[2]!)].map((o) => o.key)).toEqual([key]);
    expect(client.getClusterStats()).toMatchObject({ mapVersion: 5, mapWritable: true });
    client.close();
  });

  it('forwards a write whose owner is unreachable through a node of the writable side`s map', async () => {
    const { timers, gateways, client } = world(3, () => [], 2);
    gateways[0]!.map = () => ({ version: 9, partitionCount: 271, owners: Array.from({ length: 271 }, () => 0), nodes: [{ nodeId: 'n0', url: 'ws://n0' }], writable: false });
    gateways[0]!.handler = readOnly(9);
    for (const g of gateways.slice(1)) g.map = () => ({ ...majorityMap(), nodes: majorityMap().nodes.slice(1), owners: majorityMap().owners.map((o) => o - 1) });
    await timers.advance(10);
    gateways[2]!.crash();
    await timers.advance(1);
    const keys = Array.from({ length: 8 }, (_, i) => `${majorityOwned(2)}-${i}`).filter((k) => 1 + (partitionOf(k) % 2) === 2);
    const writes = Promise.all(keys.map((k) => client.getMap('m').set(k, 1)));
    await timers.advance(100);
    await writes;
    expect(opsOf(gateways[0]!)).toEqual([]);
    expect(opsOf(gateways[1]!).every((o) => o.forward)).toBe(true);
    client.close();
  });
});
