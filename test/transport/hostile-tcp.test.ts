// A party without the cluster secret against a node's TCP port, over real sockets: a flood
// of idle connections cannot lock an authenticated member out (the oldest unauthenticated
// connections are evicted), a huge length prefix before the handshake closes the
// connection before anything is buffered, and a Hello gets back a bare nonce, nothing
// derived from the secret to guess it against offline.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/messages.js';
import { encodeFrame, encodeHello, FrameKind, HANDSHAKE_FRAME_BYTES_MAX } from '../../src/transport/envelope.js';
import { AUTH_NONCE_BYTES, deriveFrameAuthKey, freshNonce } from '../../src/transport/frame-auth.js';
import { DEFAULT_TRANSPORT_CONFIG, parseAddress, type TransportConfig } from '../../src/transport/index.js';
import { Harness, ping, waitFor } from './helpers.js';

const KEY = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
/** Generous: two cores are shared by several test runs. */
const DEADLINE_MS = 15_000;

const harness = new Harness();
afterEach(() => harness.closeAll());

function ack(message: Message): Message {
  return { type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : -1, from: 'node-b', updates: [] };
}

async function listener(config: Partial<TransportConfig> = {}): Promise<Awaited<ReturnType<Harness['transport']>>['t']> {
  const b = await harness.transport({ authKey: KEY, ...config });
  b.t.onRequest((_from, message) => ack(message));
  return b.t;
}

interface RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly received: Buffer[];
  isClosed: boolean;
}

async function rawClient(to: string): Promise<RawClient> {
  const { host, port } = parseAddress(to);
  const socket = harness.track(connect({ host, port }));
  const client: RawClient = { socket, received: [], isClosed: false, closed: Promise.resolve() };
  socket.on('data', (chunk: Buffer) => client.received.push(chunk));
  (client as { closed: Promise<void> }).closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      client.isClosed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return client;
}

describe('a flood of unauthenticated connections', () => {
  it('cannot keep a member out: 300 idle connections against the default limits, then an authenticated request succeeds', async () => {
    // Handshake deadline well past the test, so only eviction can make room.
    const b = await listener({ handshakeTimeoutMs: 60_000, readIdleTimeoutMs: 120_000 });
    const flood: RawClient[] = [];
    for (let i = 0; i < 300; i++) flood.push(await rawClient(b.address()));
    await waitFor(() => b.stats().tcp.inbound.accepted === 300, DEADLINE_MS, 'every flood connection accepted');
    const inbound = b.stats().tcp.inbound;
    expect(inbound.open).toBeLessThanOrEqual(DEFAULT_TRANSPORT_CONFIG.inboundConnectionsMax);
    // One address holds at most its share of unauthenticated connections.
    expect(inbound.evicted).toBeGreaterThanOrEqual(300 - DEFAULT_TRANSPORT_CONFIG.inboundHandshakesPerSourceMax);
    await waitFor(() => flood.filter((c) => !c.isClosed).length <= DEFAULT_TRANSPORT_CONFIG.inboundHandshakesPerSourceMax, DEADLINE_MS, 'the evicted sockets to close');

    const member = await harness.transport({ authKey: KEY });
    expect(await member.t.request(b.address(), ping(1), DEADLINE_MS)).toEqual(ack(ping(1)));
    expect(b.stats().tcp.inbound.refused).toBe(0);
  });

  it('evicts the oldest unauthenticated connection when the listener is full, never an authenticated one', async () => {
    const b = await listener({ inboundConnectionsMax: 4, inboundHandshakesPerSourceMax: 100, handshakeTimeoutMs: 60_000, readIdleTimeoutMs: 120_000 });
    const member = await harness.transport({ authKey: KEY });
    expect(await member.t.request(b.address(), ping(1), DEADLINE_MS)).toEqual(ack(ping(1)));
    const idle: RawClient[] = [];
    for (let i = 0; i < 6; i++) idle.push(await rawClient(b.address()));
    // 1 member + 3 idle fit; the 4th, 5th and 6th idle connections evict the 1st, 2nd and 3rd.
    await Promise.all([idle[0]!.closed, idle[1]!.closed, idle[2]!.closed]);
    expect(b.stats().tcp.inbound.evicted).toBe(3);
    expect(idle.map((c) => c.isClosed)).toEqual([true, true, true, false, false, false]);
    expect(await member.t.request(b.address(), ping(2), DEADLINE_MS)).toEqual(ack(ping(2)));
    expect(b.stats().tcp.inbound).toMatchObject({ refused: 0, dropped: { 'inbound-evicted': 3 } });
  });

  it('closes a connection that does not complete the handshake within handshakeTimeoutMs', async () => {
    const b = await listener({ handshakeTimeoutMs: 200 });
    const idle = await rawClient(b.address());
    const startedAt = Date.now();
    await idle.closed;
    expect(Date.now() - startedAt).toBeLessThan(DEADLINE_MS);
    expect(b.stats().tcp.inbound.dropped['handshake-timeout']).toBe(1);
  });

  it('defaults to a short handshake deadline', () => {
    expect(DEFAULT_TRANSPORT_CONFIG.handshakeTimeoutMs).toBeLessThanOrEqual(2_000);
  });
});

describe('frames before the handshake', () => {
  it('closes on a length prefix larger than a handshake frame, before buffering its body', async () => {
    const b = await listener({ handshakeTimeoutMs: 60_000, readIdleTimeoutMs: 120_000 });
    const client = await rawClient(b.address());
    const header = Buffer.alloc(4);
    header.writeUInt32BE(16 * 1024 * 1024, 0);
    client.socket.write(Buffer.concat([header, Buffer.alloc(1024, 1)]));
    await client.closed;
    expect(b.stats().tcp.inbound.dropped['FLO_DECODE_OVERSIZED']).toBe(1);
  });

  it('accepts a handshake-sized first frame, then holds later handshake frames to the same bound', async () => {
    const b = await listener({ handshakeTimeoutMs: 60_000, readIdleTimeoutMs: 120_000 });
    const client = await rawClient(b.address());
    client.socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'x', nonce: freshNonce() })));
    await waitFor(() => client.received.length > 0, DEADLINE_MS, 'the challenge');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(HANDSHAKE_FRAME_BYTES_MAX + 1, 0);
    client.socket.write(header);
    await client.closed;
    expect(b.stats().tcp.inbound.dropped['FLO_DECODE_OVERSIZED']).toBe(1);
  });

  it('still carries frames up to frameBytesMax once authenticated', async () => {
    const b = await harness.transport({ authKey: KEY });
    const a = await harness.transport({ authKey: KEY });
    const states = Array.from({ length: 100 }, (_, i) => ({ nodeId: `n-${i}`, address: '127.0.0.1:1', incarnation: 1, state: 'alive' as const, tags: { pad: 'x'.repeat(400) } }));
    const big: Message = { type: 'PushPull', from: 'node-a', join: false, reply: false, clusterId: 'c', states };
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: big });
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the large frame');
    expect(b.t.stats().tcp.inbound.dropped).toEqual({});
  });
});

describe('what a Hello reveals', () => {
  it('answers a Hello with a Challenge that is a bare nonce, and sends nothing more without a proof', async () => {
    const b = await listener({ handshakeTimeoutMs: 300 });
    const client = await rawClient(b.address());
    client.socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'x', nonce: freshNonce() })));
    await client.closed;
    const bytes = Buffer.concat(client.received);
    // Exactly one frame: length prefix, kind byte, nonce.
    expect(bytes.length).toBe(4 + 1 + AUTH_NONCE_BYTES);
    expect(bytes.readUInt32BE(0)).toBe(1 + AUTH_NONCE_BYTES);
    expect(bytes[4]).toBe(FrameKind.Challenge);
    expect(b.stats().tcp.inbound.dropped['handshake-timeout']).toBe(1);
  });
});
