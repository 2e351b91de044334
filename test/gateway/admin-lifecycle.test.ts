// Binding and closing the admin server: loopback by default, bad bind options refused at
// construction, a taken port reported, and close() leaving no listener, socket or timer
// behind even with idle keep-alive and half-sent requests open.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DEFAULT_ADMIN_CONFIG, isBindableHost, resolveAdminConfig, startAdminServer, type AdminServerConfig } from '../../src/gateway/index.js';
import { FixtureSource } from './fixture.js';
import { TEST_ADMIN_TOKEN, openRaw, request, waitFor, withDeadline } from './http-helpers.js';

function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** True when no kind of handle that a server or its sockets use outnumbers `before`. */
function backTo(before: Map<string, number>): boolean {
  const now = handleCounts();
  return ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].every((kind) => (now.get(kind) ?? 0) <= (before.get(kind) ?? 0));
}

describe('resolveAdminConfig', () => {
  it('defaults to loopback, with short header and idle deadlines, and needs a token', () => {
    expect(resolveAdminConfig({ token: TEST_ADMIN_TOKEN })).toEqual({ ...DEFAULT_ADMIN_CONFIG, token: TEST_ADMIN_TOKEN });
    expect(DEFAULT_ADMIN_CONFIG).toMatchObject({ host: '127.0.0.1', headersTimeoutMs: 3_000, idleTimeoutMs: 2_000, metricsPublic: true, allowUnauthenticated: false });
    expect(resolveAdminConfig({ allowUnauthenticated: true }).token).toBeUndefined();
  });

  it('keeps the header deadline within a shorter request deadline', () => {
    expect(resolveAdminConfig({ token: TEST_ADMIN_TOKEN, requestTimeoutMs: 500 }).headersTimeoutMs).toBe(500);
  });

  it.each<[string, Partial<AdminServerConfig>]>([
    ['a host name', { host: 'example.com' }],
    ['an empty host', { host: '' }],
    ['a bad IPv4 literal', { host: '999.1.1.1' }],
    ['a host with a port', { host: '127.0.0.1:80' }],
    ['a negative port', { port: -1 }],
    ['a port above 65535', { port: 65_536 }],
    ['a fractional port', { port: 80.5 }],
    ['a zero deadline', { requestTimeoutMs: 0 }],
    ['a deadline above the maximum', { requestTimeoutMs: 300_001 }],
    ['a negative body limit', { bodyBytesMax: -1 }],
    ['zero connections', { connectionsMax: 0 }],
    ['more connections per address than in all', { connectionsMax: 8, connectionsPerAddressMax: 9 }],
    ['a header deadline past the request deadline', { requestTimeoutMs: 1_000, headersTimeoutMs: 1_001 }],
    ['no token', { token: undefined }],
    ['a short token', { token: 'short-token' }],
    ['a token with spaces', { token: 'a token with spaces in it 0123456789' }],
    ['an empty allowed host', { allowedHosts: [''] }],
  ])('refuses %s with FLO_CONFIG_INVALID', (_what, overrides) => {
    let thrown: unknown;
    try {
      resolveAdminConfig({ token: TEST_ADMIN_TOKEN, ...overrides });
    } catch (err) {
      thrown = err;
    }
    expect(isFlotillaError(thrown, 'FLO_CONFIG_INVALID')).toBe(true);
  });

  it.each([
    ['127.0.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::', true],
    ['localhost', true],
    ['my-host.local', false],
    ['', false],
  ] as const)('isBindableHost(%j) is %s', (host, expected) => {
    expect(isBindableHost(host)).toBe(expected);
  });

  it('ignores undefined overrides', () => {
    expect(resolveAdminConfig({ host: undefined, port: 0, token: TEST_ADMIN_TOKEN }).host).toBe('127.0.0.1');
  });
});

describe('startAdminServer', () => {
  it('binds loopback by default and reports the chosen port', async () => {
    const server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), port: 0 });
    try {
      expect(server.address().host).toBe('127.0.0.1');
      expect(server.address().port).toBeGreaterThan(0);
      expect((await request(server.address().port, '/health')).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('rejects bad options before binding anything', async () => {
    const before = handleCounts();
    await expect(startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: 'example.com', port: 0 })).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
    expect(backTo(before)).toBe(true);
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const first = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), port: 0 });
    try {
      await expect(startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), port: first.address().port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });

  it('close() drops idle keep-alive and half-sent requests and leaves no handles', async () => {
    const before = handleCounts();
    // A long deadline, so only close() itself can end the half-sent request in time.
    const server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), port: 0, requestTimeoutMs: 120_000 });
    const port = server.address().port;
    const idle = openRaw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // A complete request, then one whose announced body never comes: it is in flight
    // when close() runs.
    const halfSent = openRaw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
    await waitFor(() => idle.received().includes('}') && halfSent.received().includes('}'), 5_000, 'both first answers');
    await withDeadline(server.close(), 10_000, 'close()');
    await server.close();
    await withDeadline(Promise.all([idle.closed, halfSent.closed]), 10_000, 'client sockets to close');
    expect(halfSent.received().match(/HTTP\/1\.1 200/g)).toHaveLength(1);
    await waitFor(() => backTo(before), 5_000, 'handles to be released');
    await expect(request(port, '/health')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
