// The admin API's /kv routes over real HTTP: a map-backed AdminKv behind the admin
// server (errors as catalogued JSON). Paths, methods, bodies, limits and error shapes are checked here; the routing of
// each key to its owner is the partition service's and is covered by the process tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import type { AdminSource } from '../../src/gateway/admin-source.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/admin-server.js';
import { KV_BODY_BYTES_MAX, matchKvPath, parseJsonBody } from '../../src/gateway/kv-routes.js';
import { FixtureKv, FixtureSource } from './fixture.js';
import { TEST_ADMIN_TOKEN, request, type HttpAnswer } from './http-helpers.js';


const kv = new FixtureKv();
const withKv: AdminSource = Object.assign(new FixtureSource(), { kv });
const servers: AdminServer[] = [];
let port = 0;
let bare = 0;

beforeAll(async () => {
  for (const source of [withKv, new FixtureSource()]) servers.push(await startAdminServer({ token: TEST_ADMIN_TOKEN, source, host: '127.0.0.1', port: 0, requestTimeoutMs: 10_000 }));
  port = servers[0]!.address().port;
  bare = servers[1]!.address().port;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function body(answer: HttpAnswer): unknown {
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(answer.body);
}

describe('matchKvPath', () => {
  it.each([
    ['/kv', { kind: 'size' }],
    ['/kv/a', { kind: 'key', key: 'a' }],
    ['/kv/user%2F42', { kind: 'key', key: 'user/42' }],
    ['/kv/a/b', { kind: 'key', key: 'a/b' }],
    ['/kv/%C3%A9t%C3%A9', { kind: 'key', key: 'été' }],
    ['/kvx', undefined],
    ['/health', undefined],
  ])('%s -> %j', (path, expected) => {
    expect(matchKvPath(path)).toEqual(expected);
  });

  it.each(['/kv/', '/kv/%E0%A4%A'])('%s is FLO_INVALID_ARGUMENT', (path) => {
    expect(() => matchKvPath(path)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });
});

describe('parseJsonBody', () => {
  it.each([['{"a":[1,true,null]}', { a: [1, true, null] }], ['"s"', 's'], ['0', 0], ['null', null]])('%s', (text, value) => {
    expect(parseJsonBody(Buffer.from(text))).toEqual(value);
  });

  it.each(['', '{', 'undefined', '1 2'])('%j is FLO_INVALID_ARGUMENT', (text) => {
    expect(() => parseJsonBody(Buffer.from(text))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });
});

describe('the /kv routes', () => {
  it('puts, gets, sizes and deletes a key', async () => {
    const value = { name: 'Ada', tags: ['x', 1, null, false] };
    const put = await request(port, '/kv/user%2F42', { method: 'PUT', body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
    expect([put.status, body(put)]).toEqual([200, { ok: true }]);
    expect(kv.entries.get('user/42')).toEqual(value);
    const get = await request(port, '/kv/user%2F42');
    expect([get.status, body(get)]).toEqual([200, { key: 'user/42', value }]);
    const size = await request(port, '/kv');
    expect([size.status, body(size)]).toEqual([200, { size: 1 }]);
    const del = await request(port, '/kv/user%2F42', { method: 'DELETE' });
    expect([del.status, body(del)]).toEqual([200, { deleted: true }]);
    const again = await request(port, '/kv/user%2F42', { method: 'DELETE' });
    expect(body(again)).toEqual({ deleted: false });
  });

  it('answers 404 FLO_NOT_FOUND for an absent key', async () => {
    const answer = await request(port, '/kv/absent');
    expect(answer.status).toBe(404);
    expect(body(answer)).toEqual({ error: 'No such resource: no key "absent"', code: 'FLO_NOT_FOUND', retryable: false });
  });

  it('shows a binary value as base64', async () => {
    kv.entries.set('bin', { raw: new Uint8Array([1, 2, 255]) });
    const answer = await request(port, '/kv/bin');
    expect(body(answer)).toEqual({ key: 'bin', value: { raw: { $base64: 'AQL/' } } });
  });

  it('answers HEAD like GET, without a body', async () => {
    kv.entries.set('h', 1);
    const answer = await request(port, '/kv/h', { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
  });

  it.each([
    ['PUT', '/kv/k', 'not json', 400, 'FLO_INVALID_ARGUMENT'],
    ['PUT', '/kv/k', '', 400, 'FLO_INVALID_ARGUMENT'],
    ['PUT', '/kv/', '1', 400, 'FLO_INVALID_ARGUMENT'],
    ['GET', '/kv/k?x=1', undefined, 400, 'FLO_INVALID_ARGUMENT'],
    ['POST', '/kv/k', '1', 405, 'FLO_METHOD_NOT_ALLOWED'],
    ['PUT', '/kv', '1', 405, 'FLO_METHOD_NOT_ALLOWED'],
    ['DELETE', '/kv', undefined, 405, 'FLO_METHOD_NOT_ALLOWED'],
    ['GET', '/kv', '1', 413, 'FLO_DECODE_OVERSIZED'],
    ['GET', '/kv/k', '1', 413, 'FLO_DECODE_OVERSIZED'],
  ])('%s %s with body %j -> %i %s', async (method, path, text, status, code) => {
    // An explicit length: Node's client frames no GET body by default.
    const answer = await request(port, path, text === undefined ? { method } : { method, body: text, headers: { 'content-length': String(text.length) } });
    expect(answer.status).toBe(status);
    expect(body(answer)).toMatchObject({ code });
  });

  it('lists the allowed methods on a 405', async () => {
    expect((await request(port, '/kv/k', { method: 'PATCH', body: '1' })).headers.allow).toBe('GET, HEAD, PUT, DELETE');
    expect((await request(port, '/kv', { method: 'POST' })).headers.allow).toBe('GET, HEAD');
  });

  it('refuses a body over the limit with 413 and closes the connection', async () => {
    const answer = await request(port, '/kv/big', { method: 'PUT', body: `"${'x'.repeat(KV_BODY_BYTES_MAX)}"` });
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(body(answer)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED' });
    expect(kv.entries.has('big')).toBe(false);
  });

  it.each([
    [new FlotillaError('FLO_NOT_OWNER', 'owner moved'), 421, { code: 'FLO_NOT_OWNER', retryable: true }],
    [new FlotillaError('FLO_READ_ONLY', 'minority'), 503, { code: 'FLO_READ_ONLY', retryable: true }],
    [
      new FlotillaError('FLO_UNCONFIRMED', 'applied, backups did not confirm', { outcomeUnknown: true }),
      504,
      { code: 'FLO_UNCONFIRMED', retryable: true, details: { outcomeUnknown: true } },
    ],
    [new FlotillaError('FLO_INVALID_ARGUMENT', 'value too large'), 400, { code: 'FLO_INVALID_ARGUMENT', retryable: false }],
    [new Error('boom'), 500, { error: 'Internal error', code: 'FLO_INTERNAL', retryable: false }],
  ])('maps a store failure %s to its catalog status', async (error, status, expected) => {
    kv.failWith = error;
    const answer = await request(port, '/kv/k', { method: 'PUT', body: '1' });
    expect(answer.status).toBe(status);
    expect(body(answer)).toMatchObject(expected);
  });

  it('answers 404 on a node without a key/value store', async () => {
    for (const path of ['/kv', '/kv/k']) {
      const answer = await request(bare, path);
      expect(answer.status).toBe(404);
      expect(body(answer)).toMatchObject({ code: 'FLO_NOT_FOUND' });
    }
  });

  it('leaves other paths to the caller', async () => {
    expect(body(await request(port, '/kvx'))).toMatchObject({ code: 'FLO_NOT_FOUND', error: 'No such resource: no route /kvx' });
  });
});

describe('the admin server', () => {
  it('serves the /kv routes beside its own', async () => {
    const store = new FixtureKv();
    const server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: Object.assign(new FixtureSource(), { kv: store }), port: 0, requestTimeoutMs: 2_000 });
    try {
      const at = server.address().port;
      expect((await request(at, '/kv/a', { method: 'PUT', body: '[1]', headers: { 'content-length': '3' } })).status).toBe(200);
      expect(body(await request(at, '/kv/a'))).toEqual({ key: 'a', value: [1] });
      expect(body(await request(at, '/kv'))).toEqual({ size: 1 });
      expect((await request(at, '/health')).status).toBe(200);
      expect((await request(at, '/health', { method: 'PUT' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
