import { afterEach, describe, expect, it } from 'vitest';
import { Socket } from 'node:net';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import { ConnectionPool, type PoolConfig } from '../../src/transport/connection-pool.js';
import { FrameKind } from '../../src/transport/envelope.js';
import { silentLogger, WarnOnce } from '../../src/transport/logger.js';
import { closedPort, Harness, ping, waitFor, rejection } from './helpers.js';

const harness = new Harness();
const pools: ConnectionPool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((p) => p.close()));
  pools.length = 0;
  await harness.closeAll();
});

const poolConfig: PoolConfig = {
  poolConnectionsMax: 50,
  idleTimeoutMs: 60_000,
  connectTimeoutMs: 2_000,
  frameBytesMax: 1024 * 1024,
  writeBufferBytesMax: 4 * 1024 * 1024,
  closeTimeoutMs: 500,
};

function pool(config: Partial<PoolConfig> = {}, dial?: (host: string, port: number) => Socket): ConnectionPool {
  const p = new ConnectionPool({
    config: { ...poolConfig, ...config },
    hello: { address: '127.0.0.1:1', nodeId: 'pool-test' },
    warn: new WarnOnce(silentLogger),
    onEnvelope: () => undefined,
    ...(dial === undefined ? {} : { dial }),
  });
  pools.push(p);
  return p;
}

describe('ConnectionPool over ClusterTransport', () => {
  it('reuses one connection per peer', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    for (let i = 0; i < 10; i++) await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(i) });
    await waitFor(() => b.inbox.length === 10, 5_000, '10 frames');
    expect(a.t.stats().tcp.pool).toMatchObject({ created: 1, open: 1, idle: 1, closed: 0 });
    expect(b.t.stats().tcp.inbound.accepted).toBe(1);
  });

  it('dedupes concurrent connects to the same peer', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(i) })));
    expect(a.t.stats().tcp.pool.created).toBe(1);
  });

  it('caps connections and evicts the least recently used idle one', async () => {
    const a = await harness.transport({ poolConnectionsMax: 2 });
    const peers = await Promise.all([harness.transport(), harness.transport(), harness.transport()]);
    const [p0, p1, p2] = peers.map((p) => p.t.address()) as [string, string, string];
    await a.t.send({ to: p0, channel: 'tcp', message: ping(1) });
    await a.t.send({ to: p1, channel: 'tcp', message: ping(2) });
    await a.t.send({ to: p0, channel: 'tcp', message: ping(3) }); // p1 is now least recently used
    await a.t.send({ to: p2, channel: 'tcp', message: ping(4) });
    const stats = a.t.stats().tcp.pool;
    expect(stats).toMatchObject({ created: 3, evicted: 1, open: 2 });
    await waitFor(() => peers[1]!.t.stats().tcp.inbound.open === 0, 5_000, 'evicted connection closed at the peer');
    expect(peers[0]!.t.stats().tcp.inbound.open).toBe(1);
    await waitFor(() => peers.every((p) => p.inbox.length >= 1), 5_000, 'every peer got its frames');
  });

  it('fails with FLO_QUEUE_FULL when every connection is busy', async () => {
    const a = await harness.transport({ poolConnectionsMax: 1 });
    const b = await harness.transport();
    const c = await harness.transport();
    b.t.onRequest(() => new Promise(() => undefined));
    const pending = rejection(a.t.request(b.t.address(), ping(1), 10_000));
    await waitFor(() => a.t.stats().tcp.pool.open === 1 && a.t.stats().tcp.pool.idle === 0, 5_000, 'busy connection');
    const err = await rejection(a.t.send({ to: c.t.address(), channel: 'tcp', message: ping(2) }));
    expect(isFlotillaError(err, 'FLO_QUEUE_FULL')).toBe(true);
    await a.t.close();
    await pending;
  });

  it('closes connections idle for idleTimeoutMs', async () => {
    const a = await harness.transport({ idleTimeoutMs: 50, readIdleTimeoutMs: 5_000 });
    const b = await harness.transport();
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(1) });
    await waitFor(() => a.t.stats().tcp.pool.idleClosed === 1, 5_000, 'idle close');
    await waitFor(() => a.t.stats().tcp.pool.open === 0 && b.t.stats().tcp.inbound.open === 0, 5_000, 'both ends closed');
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(2) });
    expect(a.t.stats().tcp.pool.created).toBe(2);
    await waitFor(() => b.inbox.length === 2, 5_000, 'frame after reconnect');
  });

  it('discards a connection the peer closed and reconnects', async () => {
    const a = await harness.transport();
    const b = await harness.transport({ idleTimeoutMs: 20, readIdleTimeoutMs: 60, handshakeTimeoutMs: 60 });
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(1) });
    await waitFor(() => a.t.stats().tcp.pool.closed === 1, 5_000, 'peer closed the idle connection');
    expect(a.t.stats().tcp.pool.open).toBe(0);
    await a.t.send({ to: b.t.address(), channel: 'tcp', message: ping(2) });
    await waitFor(() => b.inbox.length === 2, 5_000, 'frame after reconnect');
    expect(a.t.stats().tcp.pool.created).toBe(2);
  });
});

describe('ConnectionPool failures', () => {
  it('maps a refused connection to FLO_CONNECTION_FAILED and counts it', async () => {
    const p = pool();
    const port = await closedPort();
    const err = await rejection(p.send(`127.0.0.1:${port}`, FrameKind.Message, 0, Uint8Array.from([1])));
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
    expect((err as FlotillaError).details).toMatchObject({ cause: 'ECONNREFUSED' });
    expect(p.stats()).toMatchObject({ connectFailures: 1, connectTimeouts: 0, open: 0, connecting: 0 });
  });

  it('times out a connect that never completes with FLO_TIMEOUT', async () => {
    const p = pool({ connectTimeoutMs: 30 }, () => new Socket());
    const err = await rejection(p.acquire('127.0.0.1:9'));
    expect(isFlotillaError(err, 'FLO_TIMEOUT')).toBe(true);
    expect(p.stats()).toMatchObject({ connectFailures: 1, connectTimeouts: 1, connecting: 0 });
  });

  it('rejects with FLO_NODE_STOPPED after close, and aborts connects in progress', async () => {
    const p = pool({ connectTimeoutMs: 10_000 }, () => new Socket());
    const connecting = rejection(p.acquire('127.0.0.1:9'));
    await p.close();
    expect(isFlotillaError(await connecting, 'FLO_NODE_STOPPED')).toBe(true);
    expect(isFlotillaError(await rejection(p.acquire('127.0.0.1:9')), 'FLO_NODE_STOPPED')).toBe(true);
    expect(p.stats().connectFailures).toBe(0);
  });

  it('rejects a malformed address with FLO_INVALID_ARGUMENT', async () => {
    const p = pool();
    expect(isFlotillaError(await rejection(p.acquire('nope')), 'FLO_INVALID_ARGUMENT')).toBe(true);
  });
});
