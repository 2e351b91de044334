import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { SeededRandom } from '../../src/core/random.js';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import { encode } from '../../src/protocol/index.js';
import { encodeFrame, encodeHello, FrameKind } from '../../src/transport/envelope.js';
import { parseAddress, type TransportConfig } from '../../src/transport/index.js';
import { gossip, Harness, ping, randomBytes, RecordingLogger, waitFor, rejection } from './helpers.js';

const harness = new Harness();
afterEach(() => harness.closeAll());

/** Short timeouts so the close paths run within a test's time. */
const fast: Partial<TransportConfig> = { idleTimeoutMs: 200, readIdleTimeoutMs: 400, handshakeTimeoutMs: 150, closeTimeoutMs: 500 };

async function rawClient(to: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const { host, port } = parseAddress(to);
  const socket = harness.track(connect({ host, port }));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed };
}

function hello(address = '127.0.0.1:1'): Buffer {
  return encodeFrame(FrameKind.Hello, 0, encodeHello({ address, nodeId: 'raw' }));
}

describe('TCP messages', () => {
  it('exchanges frames both ways; from is the advertised listener address', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(1) });
    await b.t.send({ to: a.t.address(), channel: 'tcp', message: ping(2, 'node-b', 'node-a') });
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 5_000, 'both frames');
    expect(b.inbox[0]).toEqual({ from: a.t.address(), message: ping(1), channel: 'tcp' });
    expect(a.inbox[0]).toEqual({ from: b.t.address(), message: ping(2, 'node-b', 'node-a'), channel: 'tcp' });
    const stats = a.t.stats().tcp;
    expect(stats.pool.framesOut).toBe(2); // hello + message
    expect(stats.inbound.framesIn).toBe(2);
    expect(stats.pool.created).toBe(1);
  });

  it('keeps order on one connection', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    await Promise.all(Array.from({ length: 200 }, (_, i) => a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(i) })));
    await waitFor(() => b.inbox.length === 200, 5_000, '200 frames');
    expect(b.inbox.map((r) => (r.message.type === 'Ping' ? r.message.seqNo : -1))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('refuses a message over frameBytesMax with FLO_ENCODE_OVERSIZED, counted', async () => {
    const a = await harness.transport({ frameBytesMax: 1024, writeBufferBytesMax: 4096 });
    const b = await harness.transport();
    const err = await rejection(a.t.send({ to: b.t.address(), channel: 'tcp', message: gossip('node-a', 3) }));
    expect(isFlotillaError(err, 'FLO_ENCODE_OVERSIZED')).toBe(true);
    expect(a.t.stats().tcp.pool.dropped.FLO_ENCODE_OVERSIZED).toBe(1);
  });
});

describe('TCP garbage', () => {
  it('closes a connection announcing a huge frame, before buffering it', async () => {
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    raw.socket.write(hello());
    raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped.FLO_DECODE_OVERSIZED).toBe(1);
  });

  it('closes a connection whose first frame is not a handshake', async () => {
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    raw.socket.write(encodeFrame(FrameKind.Message, 0, encode(ping(1))));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['handshake-missing']).toBe(1);
    expect(b.inbox).toHaveLength(0);
  });

  it('closes connections sending random bytes, logging once per reason for one client IP', async () => {
    const logger = new RecordingLogger();
    const b = await harness.transport(fast, logger);
    const random = new SeededRandom(7);
    for (let i = 0; i < 5; i++) {
      const raw = await rawClient(b.t.address());
      raw.socket.write(randomBytes(random, 64 + random.int(512)));
      await raw.closed; // oversized header, bad first frame, or the handshake timeout
    }
    const dropped = b.t.stats().tcp.inbound.dropped;
    expect(Object.values(dropped).reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(5);
    expect(b.t.stats().tcp.inbound.open).toBe(0);
    const keys = logger.lines.map((l) => `${String(l.fields['source'])}|${String(l.fields['code'])}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(logger.lines.every((l) => l.fields['source'] === '127.0.0.1')).toBe(true);
  });

  it('counts a frame truncated by the peer closing', async () => {
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    const whole = encodeFrame(FrameKind.Message, 0, encode(ping(1)));
    raw.socket.end(Buffer.concat([hello(), whole.subarray(0, whole.length - 3)]));
    await raw.closed;
    await waitFor(() => b.t.stats().tcp.inbound.dropped.FLO_DECODE_TRUNCATED === 1, 5_000, 'truncation counted');
    expect(b.inbox).toHaveLength(0);
  });

  it('closes a connection that connects and sends nothing (handshake timeout)', async () => {
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['handshake-timeout']).toBe(1);
  });

  it('closes a connection that goes quiet after its handshake (read idle timeout)', async () => {
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    raw.socket.write(hello());
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['read-idle-timeout']).toBe(1);
  });

  it('drops an undecodable frame but keeps the connection and later frames', async () => {
    const logger = new RecordingLogger();
    const b = await harness.transport(fast, logger);
    const raw = await rawClient(b.t.address());
    const bad = encodeFrame(FrameKind.Message, 0, Uint8Array.from([0xf1, 1, 0xc1]));
    raw.socket.write(Buffer.concat([hello('127.0.0.1:9'), bad, bad, bad, encodeFrame(FrameKind.Message, 0, encode(ping(5)))]));
    await waitFor(() => b.inbox.length === 1, 5_000, 'valid frame after garbage');
    expect(b.inbox[0]).toEqual({ from: '127.0.0.1:9', message: ping(5), channel: 'tcp' });
    const dropped = b.t.stats().tcp.inbound.dropped;
    expect(Object.values(dropped).reduce((s, n) => s + n, 0)).toBe(3);
    expect(logger.lines).toHaveLength(1);
    expect(b.t.stats().tcp.inbound.open).toBe(1);
  });

  it('refuses inbound connections past inboundConnectionsMax when every open one completed its handshake', async () => {
    const b = await harness.transport({ ...fast, inboundConnectionsMax: 1 });
    const first = await rawClient(b.t.address());
    first.socket.write(hello());
    await waitFor(() => b.t.stats().tcp.inbound.framesIn === 1, 5_000, 'the first handshake');
    const second = await rawClient(b.t.address());
    await second.closed;
    expect(b.t.stats().tcp.inbound).toMatchObject({ accepted: 1, refused: 1, open: 1 });
  });

  it('still carries valid traffic after all of it', async () => {
    const a = await harness.transport(fast);
    const b = await harness.transport(fast);
    const raw = await rawClient(b.t.address());
    raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await raw.closed;
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(9) });
    await waitFor(() => b.inbox.length === 1, 5_000, 'valid frame');
  });
});

describe('TCP backpressure', () => {
  it('fails sends with FLO_QUEUE_FULL when the peer does not read, and bounds the buffer', async () => {
    const writeBufferBytesMax = 256 * 1024;
    const a = await harness.transport({ frameBytesMax: 64 * 1024, writeBufferBytesMax, closeTimeoutMs: 200 });
    const silent = await harness.silentServer();
    const payload = gossip('node-a', 10, 300);
    await a.t.send({ to: silent, channel: 'tcp', message: payload });
    const sends: Promise<unknown>[] = [];
    let refused = 0;
    // Kernel buffers absorb a few MB first; the bound is reached well before 20k frames.
    for (let i = 0; i < 20_000 && refused === 0; i++) {
      sends.push(a.t.send({ to: silent, channel: 'tcp', message: payload }).catch((err: unknown) => err));
      refused = a.t.stats().tcp.pool.dropped.FLO_QUEUE_FULL ?? 0;
    }
    expect(refused).toBe(1);
    const last = await sends[sends.length - 1];
    expect(isFlotillaError(last, 'FLO_QUEUE_FULL')).toBe(true);
  });
});

describe('TCP requests', () => {
  it('answers a request with the handler reply', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    b.t.onRequest((from, message) => ({ type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : 0, from: from, updates: [] }));
    const reply = await a.t.request(b.t.address(), ping(41), 5_000);
    expect(reply).toEqual({ type: 'Ack', seqNo: 41, from: a.t.address(), updates: [] });
    expect(a.t.stats().tcp.requests).toMatchObject({ sent: 1, answered: 1, pending: 0 });
  });

  it('carries a handler error back with its code', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    b.t.onRequest(() => {
      throw new FlotillaError('FLO_NOT_OWNER', 'partition 3');
    });
    const err = await rejection(a.t.request(b.t.address(), ping(1)));
    expect(isFlotillaError(err, 'FLO_NOT_OWNER')).toBe(true);
  });

  it('answers FLO_INTERNAL when the peer has no request handler', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    const err = await rejection(a.t.request(b.t.address(), ping(1)));
    expect(isFlotillaError(err, 'FLO_INTERNAL')).toBe(true);
  });

  it('times out with FLO_TIMEOUT when no reply comes', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    b.t.onRequest(() => new Promise(() => undefined));
    const err = await rejection(a.t.request(b.t.address(), ping(1), 100));
    expect(isFlotillaError(err, 'FLO_TIMEOUT')).toBe(true);
    expect(a.t.stats().tcp.requests.timedOut).toBe(1);
  });

  it('fails pending requests with FLO_CONNECTION_FAILED when the peer goes away', async () => {
    const a = await harness.transport();
    const b = await harness.transport({ closeTimeoutMs: 100 });
    let entered = false;
    b.t.onRequest(() => {
      entered = true;
      return new Promise(() => undefined);
    });
    const pending = rejection(a.t.request(b.t.address(), ping(1), 10_000));
    await waitFor(() => entered, 5_000, 'request reached the peer');
    await b.t.close();
    const err = await pending;
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
  });

  it('fails pending requests with FLO_NODE_STOPPED on close', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    b.t.onRequest(() => new Promise(() => undefined));
    const pending = rejection(a.t.request(b.t.address(), ping(1), 10_000));
    await waitFor(() => a.t.stats().tcp.requests.pending === 1 && a.t.stats().tcp.pool.open === 1, 5_000, 'request sent');
    await a.t.close();
    expect(isFlotillaError(await pending, 'FLO_NODE_STOPPED')).toBe(true);
  });
});
