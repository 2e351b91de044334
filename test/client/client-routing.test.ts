// The sans-IO client against scripted in-memory gateways on a manual clock: routing to
// owners with one BATCH per node and turn, NOT_OWNER refresh and retry, failover through
// a forwarding node, reconnect backoff with jitter, and the circuit breaker.
import { describe, expect, it } from 'vitest';
import { FlotillaClient } from '../../src/client/flotilla-client.js';
import type { ClientSocket } from '../../src/client/socket.js';
import { partitionOf } from '../../src/core/partition.js';
import { SeededRandom } from '../../src/core/random.js';
import type { TimerHandle, Timers } from '../../src/core/timers.js';
import { decodeClientFrame, encodeServerFrame, type ClientFrame, type ClientOp, type ClientPartitionMap, type ServerFrame } from '../../src/protocol/client-frames.js';
import { encodeValue } from '../../src/protocol/map-values.js';

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
  receive(socket: FakeSocket, bytes: Uint8Array): void {
    const frame = decodeClientFrame(bytes, 1 << 20);
    this.frames.push(frame);
    if (frame.type === 'AUTH') {
      socket.deliver({ type: 'AUTH_ACK', nodeId: this.nodeId, expiresAt: null });
      socket.deliver({ type: 'PARTITION_MAP', map: this.map() });
    } else if (frame.type === 'MAP_REQUEST') socket.deliver({ type: 'PARTITION_MAP', map: this.map() });
    else for (const op of frame.type === 'OP' ? [frame.op] : frame.type === 'BATCH' ? frame.ops : []) {
      const reply = this.handler(op, this);
      if (reply !== undefined) socket.deliver(reply);
    }
  }
  /** Close every socket (a crash). */
  crash(): void {
    this.up = false;
    for (const s of this.sockets) s.serverClose();
  }
}

class FakeSocket implements ClientSocket {
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(private readonly gateway: FakeGateway | undefined) {
    queueMicrotask(() => {
      if (gateway === undefined || !gateway.up) return this.serverClose();
      gateway.sockets.push(this);
      this.readyState = 1;
      this.deliver({ type: 'AUTH_REQUIRED' });
    });
  }
  send(data: Uint8Array): void {
    const copy = new Uint8Array(data);
    queueMicrotask(() => this.gateway?.receive(this, copy));
  }
  close(): void {
    this.serverClose();
  }
  deliver(frame: ServerFrame): void {
    if (this.readyState !== 1) return;
    const bytes = encodeServerFrame(frame);
    queueMicrotask(() => this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }));
  }
  serverClose(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: 1006 }));
  }
}

/** Reads answer 'v' at version (1, 0, n0), as an owner's versioned read does. */
const ok: Handler = (op) => ({ type: 'RESULT', id: op.id, payload: op.op === 'get' ? encodeValue([encodeValue('v'), 1, 0, 'n0']) : null });

function world(count: number, partitionsOf: (i: number) => number[] = () => []) {
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
  const client = new FlotillaClient({ cluster: { seeds: [gateways[0]!.url] }, authToken: 't', WebSocket: Socket, timers, random: new SeededRandom(1) });
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
