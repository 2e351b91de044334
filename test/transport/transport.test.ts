import { afterEach, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { isFlotillaError } from '../../src/core/errors.js';
import { ClusterTransport, parseAddress } from '../../src/transport/index.js';
import { Harness, ping, waitFor, rejection } from './helpers.js';

const harness = new Harness();
afterEach(() => harness.closeAll());

function socketHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => /TCP|UDP|Pipe/.test(r));
}

describe('ClusterTransport lifecycle', () => {
  it('serves UDP and TCP on the one address it reports', async () => {
    const b = await harness.transport();
    const { host, port } = parseAddress(b.t.address());
    expect(host).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    const tcp = harness.track(connect({ host, port }));
    await new Promise<void>((resolve) => tcp.once('connect', () => resolve()));
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.send(Uint8Array.from([0xf1]), port, host, () => resolve()));
    udp.close();
    await waitFor(() => b.t.stats().udp.datagramsIn === 1 && b.t.stats().tcp.inbound.accepted === 1, 5_000, 'both sockets reached');
  });

  it('advertises advertiseHost with the bound port', async () => {
    const t = new ClusterTransport({ advertiseHost: '10.1.2.3' });
    try {
      const address = await t.start();
      expect(address).toMatch(/^10\.1\.2\.3:\d+$/);
    } finally {
      await t.close();
    }
  });

  it('refuses use before start and after close with FLO_NODE_STOPPED', async () => {
    const t = new ClusterTransport();
    expect(isFlotillaError(await rejection(t.send({ to: '127.0.0.1:1', channel: 'udp', message: ping(1) })), 'FLO_NODE_STOPPED')).toBe(true);
    expect(() => t.address()).toThrow();
    await t.start();
    await expect(t.start()).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    await t.close();
    await t.close();
    for (const channel of ['udp', 'tcp'] as const) {
      expect(isFlotillaError(await rejection(t.send({ to: '127.0.0.1:1', channel, message: ping(1) })), 'FLO_NODE_STOPPED')).toBe(true);
    }
    expect(isFlotillaError(await rejection(t.request('127.0.0.1:1', ping(1))), 'FLO_NODE_STOPPED')).toBe(true);
  });

  it('validates its configuration at construction', () => {
    expect(() => new ClusterTransport({ poolConnectionsMax: -1 })).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });

  it('fails with FLO_CONFIG_INVALID when the fixed TCP port is taken', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
    try {
      const t = new ClusterTransport({ port });
      await expect(t.start()).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('releases the TCP listener when the fixed UDP port is taken', async () => {
    // Counted as this process's listening handles rather than by listening on the port
    // again: under a loaded test run another process may hold that TCP port by chance.
    const listeners = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const before = listeners();
    try {
      const t = new ClusterTransport({ port });
      await expect(t.start()).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
      await waitFor(() => listeners() <= before, 5_000, 'the TCP listener closed');
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  });

  it('closes within closeTimeoutMs even when a peer stops reading, leaving no socket handles', async () => {
    const before = socketHandles().length;
    const a = new ClusterTransport({ frameBytesMax: 64 * 1024, writeBufferBytesMax: 128 * 1024, closeTimeoutMs: 100 });
    const b = new ClusterTransport();
    b.onMessage(() => undefined);
    await a.start();
    await b.start();
    await a.send({ to: b.address(), channel: 'tcp', message: ping(1) });
    await a.send({ to: b.address(), channel: 'udp', message: ping(2) });
    await b.send({ to: a.address(), channel: 'tcp', message: ping(3) });
    const silent = await harness.silentServer();
    await a.send({ to: silent, channel: 'tcp', message: ping(4) });
    await Promise.all([a.close(), b.close()]);
    await harness.closeAll();
    // A handle whose close was requested stays listed until its close callback has run.
    await waitFor(() => socketHandles().length <= before, 5_000, `socket handles back to ${before}`);
  });
});
