// Mutual TLS on the TCP transport: two TLS transports exchange messages and requests;
// plaintext peers and certificates from another CA are refused on both sides, counted as
// `tls-handshake` and logged once with a reason an operator can act on.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import type { Message } from '../../src/protocol/messages.js';
import { encodeFrame, encodeHello, FrameKind } from '../../src/transport/envelope.js';
import { parseAddress, type TransportConfig } from '../../src/transport/index.js';
import { Harness, ping, RecordingLogger, rejection, waitFor } from './helpers.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';

const harness = new Harness();
let fx: TlsFixture;
beforeAll(() => {
  fx = makeTlsFixture();
});
afterEach(() => harness.closeAll());
afterAll(() => fx.remove());

/** Generous: two cores are shared by several test runs. */
const DEADLINE_MS = 15_000;

function tls(): Partial<TransportConfig> {
  return { tls: fx.material('node'), connectTimeoutMs: 10_000 };
}

/** A node with a certificate from another CA that trusts both CAs, so only our side's check can stop it. */
function rogueTls(): Partial<TransportConfig> {
  const rogue = fx.material('rogue', 'rogue-ca');
  return { tls: { ...rogue, ca: `${String(rogue.ca)}${String(fx.material('node').ca)}` }, connectTimeoutMs: 10_000 };
}

function ack(message: Message): Message {
  return { type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : -1, from: 'node-b', updates: [] };
}

function warned(logger: RecordingLogger, pattern: RegExp): string | undefined {
  return logger.lines.map((l) => `${l.message} ${JSON.stringify(l.fields)}`).find((line) => pattern.test(line));
}

describe('TLS between nodes', () => {
  it('carries one-way messages and requests both ways', async () => {
    const a = await harness.transport(tls());
    const b = await harness.transport(tls());
    b.t.onRequest((_from, message) => ack(message));
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(1) });
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the message over TLS');
    expect(b.inbox[0]).toEqual({ from: a.t.address(), message: ping(1), channel: 'tcp' });
    expect(await a.t.request(b.t.address(), ping(7), DEADLINE_MS)).toEqual(ack(ping(7)));
    await b.t.send({ to: a.t.address(), channel: 'tcp', message: ping(2, 'node-b', 'node-a') });
    await waitFor(() => a.inbox.length === 1, DEADLINE_MS, 'the reverse message');
    expect(a.t.stats().tcp.pool.dropped).toEqual({});
    expect(b.t.stats().tcp.inbound.dropped).toEqual({});
  });

  it('keeps UDP working alongside (datagrams stay plaintext)', async () => {
    const a = await harness.transport(tls());
    const b = await harness.transport(tls());
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(3) });
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the datagram');
    expect(b.inbox[0]?.channel).toBe('udp');
  });
});

describe('TLS refusals', () => {
  it('refuses a plaintext transport: counted and logged on the TLS side, the sender fails', async () => {
    const logger = new RecordingLogger();
    const secure = await harness.transport(tls(), logger);
    const plain = await harness.transport({ connectTimeoutMs: 10_000 });
    plain.t.onRequest((_from, message) => ack(message));
    const err = await rejection(plain.t.request(secure.t.address(), ping(1), DEADLINE_MS));
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED') || isFlotillaError(err, 'FLO_TIMEOUT')).toBe(true);
    await waitFor(() => (secure.t.stats().tcp.inbound.dropped['tls-handshake'] ?? 0) >= 1, DEADLINE_MS, 'the refusal to be counted');
    expect(secure.inbox).toHaveLength(0);
    expect(warned(logger, /refused TLS connection: peer does not speak TLS/)).toBeDefined();
  });

  it('refuses a raw plaintext Hello frame on the TLS port', async () => {
    const logger = new RecordingLogger();
    const secure = await harness.transport(tls(), logger);
    const { host, port } = parseAddress(secure.t.address());
    const socket = harness.track(connect({ host, port }));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'raw' })));
    await closed;
    await waitFor(() => (secure.t.stats().tcp.inbound.dropped['tls-handshake'] ?? 0) === 1, DEADLINE_MS, 'the refusal');
    expect(secure.t.stats().tcp.inbound.refused).toBe(1);
    expect(secure.t.stats().tcp.inbound.accepted).toBe(0);
  });

  it('refuses a peer whose certificate comes from another CA, naming the verification failure', async () => {
    const logger = new RecordingLogger();
    const secure = await harness.transport(tls(), logger);
    const rogue = await harness.transport(rogueTls());
    await rogue.t.send({ to: secure.t.address(), channel: 'tcp', message: ping(1) }).catch(() => undefined);
    await waitFor(() => (secure.t.stats().tcp.inbound.dropped['tls-handshake'] ?? 0) >= 1, DEADLINE_MS, 'the refusal');
    const line = logger.lines.find((l) => l.message.startsWith('refused TLS connection: peer certificate not trusted by our CA ('));
    expect(line?.fields.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(secure.inbox).toHaveLength(0);
  });

  it('does not dial into a server whose certificate comes from another CA', async () => {
    const logger = new RecordingLogger();
    const client = await harness.transport(tls(), logger);
    const rogue = await harness.transport(rogueTls());
    const err = await rejection(client.t.send({ to: rogue.t.address(), channel: 'tcp', message: ping(1) }));
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/TLS handshake with .* failed: certificate not trusted/);
    expect(client.t.stats().tcp.pool.dropped['tls-handshake']).toBe(1);
    expect(client.t.stats().tcp.pool.connectFailures).toBe(1);
    expect(warned(logger, /TLS handshake failed/)).toBeDefined();
    expect(rogue.inbox).toHaveLength(0);
  });

  it('fails to dial a plaintext node, saying the handshake failed', async () => {
    const client = await harness.transport(tls());
    const plain = await harness.transport({});
    const err = await rejection(client.t.send({ to: plain.t.address(), channel: 'tcp', message: ping(1) }));
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/TLS handshake with .* failed/);
    expect(plain.inbox).toHaveLength(0);
    await waitFor(() => (plain.t.stats().tcp.inbound.dropped.FLO_DECODE_OVERSIZED ?? 0) === 1, DEADLINE_MS, 'the plain side to drop the ClientHello');
  });
});

describe('TLS handshakes that never happen', () => {
  it('hold no slot a member needs: 300 stalled TLS sockets are evicted oldest-first, then a member connects', async () => {
    const key = new Uint8Array(32).fill(3);
    const b = await harness.transport({ ...tls(), authKey: key, handshakeTimeoutMs: 60_000, readIdleTimeoutMs: 120_000, inboundConnectionsMax: 16 });
    b.t.onRequest((_from, message) => ack(message));
    const { host, port } = parseAddress(b.t.address());
    const stalled: { closed: boolean }[] = [];
    for (let i = 0; i < 300; i++) {
      const socket = harness.track(connect({ host, port, localAddress: `127.0.2.${1 + (i % 100)}` }));
      const entry = { closed: false };
      socket.once('close', () => (entry.closed = true));
      stalled.push(entry);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
    }
    await waitFor(() => stalled.filter((s) => !s.closed).length <= 16, DEADLINE_MS, 'the oldest stalled sockets to be evicted');
    const a = await harness.transport({ ...tls(), authKey: key });
    expect(await a.t.request(b.t.address(), ping(3), DEADLINE_MS)).toEqual(ack(ping(3)));
    expect(b.t.stats().tcp.inbound.evicted).toBeGreaterThanOrEqual(300 - 16);
    expect(b.t.stats().tcp.inbound.dropped['inbound-evicted']).toBe(b.t.stats().tcp.inbound.evicted);
  });
});
