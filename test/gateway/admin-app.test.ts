// Edges of the admin API where the router or Fastify's defaults could differ from the
// documented behaviour: long percent-encoded keys (the key route is a wildcard, which the
// router's 100-character parameter cap does not apply to), targets the router cannot
// decode (still behind the token, still catalogued JSON), and bodies on routes that take
// none however they are framed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureKv, FixtureSource } from './fixture.js';
import { TEST_ADMIN_TOKEN, parseRaw, rawExchange, request } from './http-helpers.js';


const kv = new FixtureKv();
let server: AdminServer;
let port: number;

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: Object.assign(new FixtureSource(), { kv }), host: '127.0.0.1', port: 0, requestTimeoutMs: 10_000 });
  port = server.address().port;
});

afterAll(async () => {
  await server.close();
});

function codeOf(body: string): unknown {
  return (JSON.parse(body) as { code?: unknown }).code;
}

describe('admin API edges', () => {
  it('stores and reads a key of thousands of percent-encoded characters', async () => {
    const key = `k/${'é'.repeat(600)}`;
    const path = `/kv/${encodeURIComponent(key)}`;
    expect((await request(port, path, { method: 'PUT', body: '{"v":1}' })).status).toBe(200);
    expect(kv.entries.get(key)).toEqual({ v: 1 });
    expect(JSON.parse((await request(port, path)).body)).toEqual({ key, value: { v: 1 } });
  });

  it('checks the token before saying a target is malformed', async () => {
    const none = await request(port, '/kv/%E0%A4%A', { headers: { authorization: null } });
    expect(none.status).toBe(401);
    expect(codeOf(none.body)).toBe('FLO_UNAUTHORIZED');
    const bad = await request(port, '/kv/%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(codeOf(bad.body)).toBe('FLO_INVALID_ARGUMENT');
  });

  it('refuses a chunked body on DELETE, which takes none, and deletes nothing', async () => {
    kv.entries.set('kept', 1);
    const raw = await rawExchange(
      port,
      `DELETE /kv/kept HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_ADMIN_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
    );
    const answer = parseRaw(raw);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED', details: { bodyBytesMax: 0 } });
    expect(kv.entries.has('kept')).toBe(true);
  });

  it('refuses a PUT body declared over the limit at once, with the limit in the details', async () => {
    const raw = await rawExchange(
      port,
      `PUT /kv/big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_ADMIN_TOKEN}\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`,
      (received) => received.includes('}'),
    );
    const answer = parseRaw(raw);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED', details: { bodyBytesMax: 2 * 1024 * 1024 } });
    expect(kv.entries.has('big')).toBe(false);
  });
});
