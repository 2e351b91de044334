// The admin API against hostile clients, over real sockets: idle and slowloris connections
// cannot take /health down, one address gets only its share of the slots, a Host that does
// not name the server (DNS rebinding) and a foreign Origin are refused, every route that
// reads or writes data needs the admin token, and a KV value that is not valid UTF-8 (or
// holds a lone surrogate) is refused rather than stored altered.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_CONFIG, startAdminServer, type AdminServer, type AdminServerConfig } from '../../src/gateway/index.js';
import { FixtureKv, FixtureSource } from './fixture.js';
import { request, TEST_ADMIN_TOKEN, waitFor, withDeadline } from './http-helpers.js';

const DEADLINE_MS = 15_000;


const servers: AdminServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(config: Partial<AdminServerConfig> = {}): Promise<{ port: number; kv: FixtureKv }> {
  const kv = new FixtureKv();
  const server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: Object.assign(new FixtureSource(), { kv }), host: '127.0.0.1', port: 0, ...config });
  servers.push(server);
  return { port: server.address().port, kv };
}

interface Held {
  readonly socket: Socket;
  isClosed: boolean;
}

/** Opens a connection (from `localAddress`, when given) and writes `text`, keeping it open. */
async function hold(port: number, text: string, localAddress?: string): Promise<Held> {
  const socket = connect({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) });
  sockets.push(socket);
  const held: Held = { socket, isClosed: false };
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  socket.once('close', () => (held.isClosed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (text !== '') socket.write(text);
  return held;
}

function codeOf(body: string): unknown {
  return (JSON.parse(body) as { code?: unknown }).code;
}

describe('idle and slow connections', () => {
  it('cannot take /health down: 100 idle and 100 slowloris connections, then /health and a token request answer', async () => {
    const { port } = await start();
    const held: Held[] = [];
    for (let i = 0; i < 100; i++) held.push(await hold(port, ''));
    for (let i = 0; i < 100; i++) held.push(await hold(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
    const health = await withDeadline(request(port, '/health', { headers: { authorization: null } }), DEADLINE_MS, '/health');
    expect(health.status).toBe(200);
    expect((await withDeadline(request(port, '/cluster/members'), DEADLINE_MS, '/cluster/members')).status).toBe(200);
    // Most of the 200 were closed to make room; the server never held more than its limit.
    expect(held.filter((h) => !h.isClosed).length).toBeLessThanOrEqual(DEFAULT_ADMIN_CONFIG.connectionsMax);
  });

  it('gives one address at most connectionsPerAddressMax connections, evicting its oldest idle one', async () => {
    const { port } = await start({ connectionsPerAddressMax: 4 });
    const held: Held[] = [];
    for (let i = 0; i < 6; i++) held.push(await hold(port, '', '127.0.0.2'));
    await waitFor(() => held[0]!.isClosed && held[1]!.isClosed, DEADLINE_MS, 'the two oldest to be evicted');
    expect(held.map((h) => h.isClosed)).toEqual([true, true, false, false, false, false]);
    expect((await request(port, '/health')).status).toBe(200);
  });

  it('closes a connection that sends nothing within the header deadline', async () => {
    const { port } = await start({ headersTimeoutMs: 200 });
    const silent = await hold(port, '');
    await waitFor(() => silent.isClosed, DEADLINE_MS, 'the silent connection to be closed');
  });
});

describe('Host and Origin', () => {
  it('refuses a Host that does not name the server (DNS rebinding) with 403 FLO_FORBIDDEN', async () => {
    const { port, kv } = await start();
    const rebound = await request(port, '/kv/x', { method: 'PUT', body: '1', headers: { host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(codeOf(rebound.body)).toBe('FLO_FORBIDDEN');
    expect((await request(port, '/health', { headers: { host: 'attacker.example' } })).status).toBe(403);
    expect(kv.entries.size).toBe(0);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', '127.0.0.1']) {
      expect((await request(port, '/health', { headers: { host } })).status, host).toBe(200);
    }
  });

  it('accepts the host names an operator allows', async () => {
    const { port } = await start({ allowedHosts: ['Node1.Example'] });
    expect((await request(port, '/health', { headers: { host: `node1.example:${port}` } })).status).toBe(200);
    expect((await request(port, '/health', { headers: { host: 'node2.example' } })).status).toBe(403);
  });

  it('refuses browser requests from another origin, writes included, even with the token', async () => {
    const { port, kv } = await start();
    const foreign: Record<string, string>[] = [
      { origin: 'http://attacker.example' },
      { origin: 'null' },
      // Another web app on this machine is another origin, though its host name is allowed.
      { origin: 'http://localhost:3000' },
      { origin: `http://127.0.0.1:${port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of foreign) {
      const answer = await request(port, '/kv/x', { method: 'PUT', body: '1', headers });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(codeOf(answer.body)).toBe('FLO_FORBIDDEN');
    }
    expect(kv.entries.size).toBe(0);
    expect((await request(port, '/kv/x', { method: 'PUT', body: '1', headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(200);
  });
});

describe('the admin token', () => {
  it('guards every route that reads or writes data; /health, /metrics and the dashboard page stay open', async () => {
    const { port, kv } = await start();
    for (const [method, path] of [['PUT', '/kv/x'], ['GET', '/kv/x'], ['DELETE', '/kv/x'], ['GET', '/kv'], ['GET', '/entities'], ['GET', '/cluster/members'], ['GET', '/cluster/partitions'], ['GET', '/cluster/migrations'], ['GET', '/cluster/quorum'], ['GET', '/nowhere']] as const) {
      const none = await request(port, path, { method, body: method === 'PUT' ? '1' : undefined, headers: { authorization: null } });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(codeOf(none.body)).toBe('FLO_UNAUTHORIZED');
      expect(none.headers['www-authenticate']).toBe('Bearer realm="flotilla-admin"');
      const wrong = await request(port, path, { method, headers: { authorization: 'Bearer not-the-token-0123456789-abcdefghijklmnop' } });
      expect(wrong.status, `${method} ${path}`).toBe(401);
    }
    expect(kv.entries.size).toBe(0);
    expect((await request(port, '/health', { headers: { authorization: null } })).status).toBe(200);
    expect((await request(port, '/metrics', { headers: { authorization: null } })).status).toBe(200);
    expect((await request(port, '/dashboard', { headers: { authorization: null } })).status).toBe(200);
    const ok = await request(port, '/cluster/members');
    expect(ok.status).toBe(200);
    expect(ok.headers['www-authenticate']).toBeUndefined();
  });

  it('guards /metrics too when it is not public', async () => {
    const { port } = await start({ metricsPublic: false });
    expect((await request(port, '/metrics', { headers: { authorization: null } })).status).toBe(401);
    expect((await request(port, '/metrics')).status).toBe(200);
  });

  it('serves without a token only when told to', async () => {
    await expect(startAdminServer({ source: new FixtureSource(), port: 0 })).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
    const server = await startAdminServer({ source: new FixtureSource(), host: '127.0.0.1', port: 0, allowUnauthenticated: true });
    servers.push(server);
    expect((await request(server.address().port, '/cluster/members', { headers: { authorization: null } })).status).toBe(200);
  });
});

describe('KV values that are not valid text', () => {
  const refused: [string, Uint8Array][] = [
    ['invalid UTF-8', Uint8Array.from([0x22, 0xff, 0xfe, 0x22])],
    ['an overlong encoding', Uint8Array.from([0x22, 0xc0, 0xaf, 0x22])],
    ['an encoded surrogate', Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['a truncated sequence', Uint8Array.from([0x22, 0xe2, 0x82, 0x22])],
    ['a lone high surrogate escape', Buffer.from('"abc\\ud800"')],
    ['a lone low surrogate escape in a key', Buffer.from('{"\\udc00x": 1}')],
    ['a reversed surrogate pair', Buffer.from('["\\udc00\\ud800"]')],
  ];
  it.each(refused)('refuses %s with 400 FLO_INVALID_UTF8 and stores nothing', async (_name, body) => {
    const { port, kv } = await start();
    const answer = await request(port, '/kv/bad', { method: 'PUT', body });
    expect(answer.status).toBe(400);
    expect(codeOf(answer.body)).toBe('FLO_INVALID_UTF8');
    expect(kv.entries.size).toBe(0);
  });

  it('stores text outside the BMP and escaped surrogate pairs exactly as sent', async () => {
    const { port } = await start();
    const value = { emoji: '😀', escaped: '\ud83d\ude00', accents: 'ünïcödé' };
    expect((await request(port, '/kv/good', { method: 'PUT', body: Buffer.from(JSON.stringify(value), 'utf8') })).status).toBe(200);
    expect((await request(port, '/kv/escaped', { method: 'PUT', body: Buffer.from('"\\ud83d\\ude00"') })).status).toBe(200);
    expect(JSON.parse((await request(port, '/kv/good')).body)).toEqual({ key: 'good', value });
    expect(JSON.parse((await request(port, '/kv/escaped')).body)).toEqual({ key: 'escaped', value: '😀' });
  });
});
