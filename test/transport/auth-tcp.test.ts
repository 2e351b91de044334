// Authenticated TCP connections over real sockets: each connection opens with a
// challenge-response in both directions. A peer with another key never gets a frame
// accepted (the dialer fails with FLO_AUTH_FAILED, the listener counts `auth`), a recorded
// handshake replayed on a new connection fails, garbage before the handshake is counted as
// before, and over TLS the proofs are bound to the TLS session.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCatalog, isFlotillaError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import { encode } from '../../src/protocol/index.js';
import type { Message } from '../../src/protocol/messages.js';
import { encodeFrame, encodeHello, FrameKind } from '../../src/transport/envelope.js';
import { deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { parseAddress, type TransportConfig } from '../../src/transport/index.js';
import { Harness, ping, randomBytes, RecordingLogger, rejection, waitFor } from './helpers.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';

const KEY = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
const WRONG_SECRET = deriveFrameAuthKey('another-secret-entirely-456', 'flotilla');
const WRONG_CLUSTER = deriveFrameAuthKey('a-long-cluster-secret-0123', 'prod');
/** Generous: two cores are shared by several test runs. */
const DEADLINE_MS = 15_000;
/** Short timeouts so the close paths run within a test's time. */
const fast: Partial<TransportConfig> = { idleTimeoutMs: 200, readIdleTimeoutMs: 400, handshakeTimeoutMs: 150, closeTimeoutMs: 500 };

const harness = new Harness();
const servers: Server[] = [];
const sockets: Socket[] = [];
let fx: TlsFixture;
beforeAll(() => {
  fx = makeTlsFixture();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await harness.closeAll();
});
afterAll(() => fx.remove());

function ack(message: Message): Message {
  return { type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : -1, from: 'node-b', updates: [] };
}

/** A listener holding `KEY` (or `config`) that counts the requests its handler sees. */
async function listener(config: Partial<TransportConfig> = { authKey: KEY }, logger?: RecordingLogger): Promise<{ t: Awaited<ReturnType<Harness['transport']>>['t']; handled: () => number }> {
  const b = await harness.transport(config, logger);
  let handled = 0;
  b.t.onRequest((_from, message) => {
    handled++;
    return ack(message);
  });
  return { t: b.t, handled: () => handled };
}

async function rawClient(to: string): Promise<{ socket: Socket; closed: Promise<void>; received: Buffer[] }> {
  const { host, port } = parseAddress(to);
  const socket = harness.track(connect({ host, port }));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, received };
}

/** A TCP proxy to `target` that records every byte the dialing side sends. */
async function recordingProxy(target: string): Promise<{ address: string; recorded: Buffer[] }> {
  const recorded: Buffer[] = [];
  const server = createServer((client) => {
    const upstream = connect(parseAddress(target));
    sockets.push(client, upstream);
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.on('data', (chunk: Buffer) => {
      recorded.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  if (typeof bound !== 'object' || bound === null) throw new Error('no address');
  return { address: `127.0.0.1:${bound.port}`, recorded };
}

describe('authenticated TCP', () => {
  it('carries messages and requests between transports holding the same key', async () => {
    const a = await harness.transport({ authKey: KEY });
    const b = await listener();
    expect(await a.t.request(b.t.address(), ping(7), DEADLINE_MS)).toEqual(ack(ping(7)));
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(1) });
    await b.t.send({ to: a.t.address(), channel: 'tcp', message: ping(2) });
    await waitFor(() => a.inbox.length === 1, DEADLINE_MS, 'the reverse message');
    expect(a.inbox[0]?.from).toBe(b.t.address());
    expect(b.t.stats().tcp.inbound.dropped).toEqual({});
    expect(a.t.stats().tcp.pool).toMatchObject({ dropped: {}, created: 1, open: 1 });
  });

  const wrongKeys: [string, Uint8Array][] = [
    ['another secret', WRONG_SECRET],
    ['another cluster id', WRONG_CLUSTER],
  ];
  it.each(wrongKeys)('refuses a dialer with %s: FLO_AUTH_FAILED on the dialer, counted and logged once on the listener', async (_name, key) => {
    const logger = new RecordingLogger();
    const b = await listener({ authKey: KEY }, logger);
    const intruder = await harness.transport({ authKey: key });
    for (let i = 0; i < 2; i++) {
      const err = await rejection(intruder.t.request(b.t.address(), ping(i), DEADLINE_MS));
      expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/did not prove the cluster secret/);
    }
    await waitFor(() => (b.t.stats().tcp.inbound.dropped['auth'] ?? 0) === 2, DEADLINE_MS, 'both refusals on the listener');
    expect(b.handled()).toBe(0);
    expect(intruder.t.stats().tcp.pool).toMatchObject({ open: 0, connectFailures: 2, dropped: { auth: 2 } });
    expect(ErrorCatalog.FLO_AUTH_FAILED.retryable).toBe(false);
    const lines = logger.lines.filter((l) => l.fields['code'] === 'auth');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields['source']).toBe('127.0.0.1');
    expect(lines[0]?.message).toMatch(/handshake failed: .*the dialer did not prove the cluster secret/);
  });

  it('refuses to dial into a listener with another key, even one-way sends', async () => {
    const impostor = await harness.transport({ authKey: WRONG_SECRET });
    const a = await harness.transport({ authKey: KEY });
    const err = await rejection(a.t.send({ to: impostor.t.address(), channel: 'tcp', message: ping(1) }));
    expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
    expect(impostor.inbox).toHaveLength(0);
  });

  it('refuses a dialer without a key: its request is never handled', async () => {
    const b = await listener();
    const plain = await harness.transport({});
    const err = await rejection(plain.t.request(b.t.address(), ping(1), DEADLINE_MS));
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
    await waitFor(() => (b.t.stats().tcp.inbound.dropped['auth'] ?? 0) === 1, DEADLINE_MS, 'the refusal');
    expect(b.handled()).toBe(0);
  });

  it('refuses a recorded handshake replayed on a new connection', async () => {
    const b = await listener();
    const proxy = await recordingProxy(b.t.address());
    const a = await harness.transport({ authKey: KEY });
    expect(await a.t.request(proxy.address, ping(1), DEADLINE_MS)).toEqual(ack(ping(1)));
    expect(b.handled()).toBe(1);
    const transcript = Buffer.concat(proxy.recorded); // Hello, Proof, Request
    const replay = await rawClient(b.t.address());
    replay.socket.write(transcript);
    await replay.closed;
    await waitFor(() => (b.t.stats().tcp.inbound.dropped['auth'] ?? 0) === 1, DEADLINE_MS, 'the replay to be refused');
    expect(b.handled()).toBe(1);
  });
});

describe('garbage before the authenticated handshake', () => {
  it('closes connections sending random bytes, counted as before, logged once per reason', async () => {
    const logger = new RecordingLogger();
    const b = await listener({ ...fast, authKey: KEY }, logger);
    const random = new SeededRandom(7);
    for (let i = 0; i < 5; i++) {
      const raw = await rawClient(b.t.address());
      raw.socket.write(randomBytes(random, 64 + random.int(512)));
      await raw.closed;
    }
    const dropped = b.t.stats().tcp.inbound.dropped;
    expect(Object.values(dropped).reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(5);
    expect(b.t.stats().tcp.inbound.open).toBe(0);
    const keys = logger.lines.map((l) => `${String(l.fields['source'])}|${String(l.fields['code'])}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('closes a connection whose first frame is not a handshake', async () => {
    const b = await listener({ ...fast, authKey: KEY });
    const raw = await rawClient(b.t.address());
    raw.socket.write(encodeFrame(FrameKind.Message, 0, encode(ping(1))));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['handshake-missing']).toBe(1);
  });

  it('refuses a Hello without a nonce, answering why, and delivers nothing after it', async () => {
    const b = await harness.transport({ ...fast, authKey: KEY });
    const raw = await rawClient(b.t.address());
    raw.socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'raw' })));
    raw.socket.write(encodeFrame(FrameKind.Message, 0, encode(ping(1))));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['auth']).toBe(1);
    expect(Buffer.concat(raw.received).toString('latin1')).toContain('requires the cluster secret');
    expect(b.inbox).toHaveLength(0);
  });

  it('refuses a made-up proof, and delivers nothing after it', async () => {
    const b = await harness.transport({ ...fast, authKey: KEY });
    const raw = await rawClient(b.t.address());
    raw.socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'raw', nonce: cryptoRandomBytes(16) })));
    raw.socket.write(encodeFrame(FrameKind.Proof, 0, cryptoRandomBytes(32)));
    raw.socket.write(encodeFrame(FrameKind.Message, 0, encode(ping(1))));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['auth']).toBe(1);
    expect(b.inbox).toHaveLength(0);
  });

  it('closes a connection that sends its Hello and never its proof (handshake timeout)', async () => {
    const b = await harness.transport({ ...fast, authKey: KEY });
    const raw = await rawClient(b.t.address());
    raw.socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'raw', nonce: cryptoRandomBytes(16) })));
    await raw.closed;
    expect(b.t.stats().tcp.inbound.dropped['handshake-timeout']).toBe(1);
  });
});

describe('authentication over TLS', () => {
  function tls(authKey: Uint8Array): Partial<TransportConfig> {
    return { tls: fx.material('node'), connectTimeoutMs: 10_000, authKey };
  }

  it('opens with the proofs bound to the TLS session when the keys match', async () => {
    const a = await harness.transport(tls(KEY));
    const b = await listener(tls(KEY));
    expect(await a.t.request(b.t.address(), ping(3), DEADLINE_MS)).toEqual(ack(ping(3)));
    expect(b.t.stats().tcp.inbound.dropped).toEqual({});
  });

  it('refuses a peer with a trusted certificate but another key', async () => {
    const b = await listener(tls(KEY));
    const intruder = await harness.transport(tls(WRONG_SECRET));
    const err = await rejection(intruder.t.request(b.t.address(), ping(3), DEADLINE_MS));
    expect(isFlotillaError(err, 'FLO_AUTH_FAILED')).toBe(true);
    await waitFor(() => (b.t.stats().tcp.inbound.dropped['auth'] ?? 0) === 1, DEADLINE_MS, 'the refusal');
    expect(b.handled()).toBe(0);
  });
});
