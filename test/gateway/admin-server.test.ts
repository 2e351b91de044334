// The admin HTTP layer against a fixture source: every route's exact JSON, the status
// codes (200/503/400/404/405/413/500/504), error bodies from the catalog, and that a
// failing route or a malformed request never crashes the server or yields non-JSON.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import type { HealthStatus } from '../../src/gateway/admin-source.js';
import { FixtureSource, fixtureHealth, fixtureMembers, fixtureMigrations, fixturePartitions, fixtureSnapshot } from './fixture.js';
import { TEST_ADMIN_TOKEN, expectJsonContentType, getJson, parseRaw, rawExchange, request } from './http-helpers.js';

const source = new FixtureSource();
let server: AdminServer;
let port: number;

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, host: '127.0.0.1', port: 0, requestTimeoutMs: 10_000 });
  port = server.address().port;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  source.healthReport = fixtureHealth();
  source.membersReport = fixtureMembers();
  source.partitionsReport = fixturePartitions();
  source.migrationsReport = fixtureMigrations();
  source.snapshot = fixtureSnapshot();
  source.failing = undefined;
});

describe('GET /health', () => {
  it('answers 200 with status, nodeId, state and checks when running', async () => {
    const { status, json, headers } = await getJson(port, '/health');
    expect(status).toBe(200);
    expect(headers['cache-control']).toBe('no-store');
    expect(json).toEqual({ status: 'ok', nodeId: 'n1', state: 'running', checks: { storage: { status: 'healthy' } } });
  });

  it.each<[HealthStatus, number]>([
    ['ok', 200],
    ['degraded', 200],
    ['unhealthy', 503],
    ['joining', 503],
    ['leaving', 503],
    ['stopped', 503],
  ])('status %s answers %i with the same shape', async (health, code) => {
    source.healthReport = { status: health, nodeId: 'n1', state: health === 'ok' ? 'running' : health, checks: { db: { status: 'degraded', detail: 'slow' } } };
    const { status, json } = await getJson(port, '/health');
    expect(status).toBe(code);
    expect(json).toEqual({ status: health, nodeId: 'n1', state: source.healthReport.state, checks: { db: { status: 'degraded', detail: 'slow' } } });
  });
});

describe('GET /cluster/members', () => {
  it('answers the members view exactly', async () => {
    const { status, json } = await getJson(port, '/cluster/members');
    expect(status).toBe(200);
    expect(json).toEqual(fixtureMembers());
  });

  it('drops fields the source adds beyond the documented shape', async () => {
    const view = fixtureMembers();
    source.membersReport = { ...view, members: view.members.map((m) => ({ ...m, secret: 'x' })) };
    const { json } = await getJson(port, '/cluster/members');
    expect(json).toEqual(view);
  });

  it.each([
    ['?tag=role=web', ['n2']],
    ['?tag=zone=a', ['n1']],
    ['?tag=zone=b&tag=role=web', ['n2']],
    ['?tag=zone=a&tag=role=web', []],
    ['?tag=role=', []],
    ['?state=alive', ['n1', 'n2']],
    ['?state=suspect', ['n3']],
    ['?tag=zone=b&state=alive', ['n2']],
    ['?tag=zone=b&state=dead', []],
    ['?tag=' + encodeURIComponent('k=a=b'), []],
  ])('filters members by tag and state: %s', async (query, expected) => {
    const { status, json } = await getJson(port, `/cluster/members${query}`);
    expect(status).toBe(200);
    const body = json as { version: number; master: string; members: { nodeId: string }[] };
    expect(body.members.map((m) => m.nodeId)).toEqual(expected);
    expect(body.version).toBe(4);
  });

  it('keeps the value after the first "=" of a tag filter', async () => {
    const view = fixtureMembers();
    source.membersReport = { ...view, members: view.members.map((m) => (m.nodeId === 'n3' ? { ...m, tags: { k: 'a=b' } } : m)) };
    const { json } = await getJson(port, `/cluster/members?tag=${encodeURIComponent('k=a=b')}`);
    expect((json as { members: { nodeId: string }[] }).members.map((m) => m.nodeId)).toEqual(['n3']);
  });

  it.each(['?tag=role', '?tag==web', '?tag=', '?tag=a=1&tag=a=2', '?state=zombie', '?state=alive&state=dead', '?role=web', `?${Array.from({ length: 17 }, (_, i) => `tag=k${i}=v`).join('&')}`])(
    'refuses a malformed filter with 400 FLO_INVALID_ARGUMENT: %s',
    async (query) => {
      const { status, json } = await getJson(port, `/cluster/members${query}`);
      expect(status).toBe(400);
      expect((json as { code: string }).code).toBe('FLO_INVALID_ARGUMENT');
    },
  );

  it('reports a null master and null joinVersion as null', async () => {
    source.membersReport = { version: 0, master: null, members: [{ nodeId: 'n1', address: '127.0.0.1:7001', state: 'alive', joinVersion: null, incarnation: 1, tags: {}, clockOffsetMs: null }] };
    const { json } = await getJson(port, '/cluster/members');
    expect(json).toEqual(source.membersReport);
  });
});

describe('GET /cluster/partitions', () => {
  it('answers the whole table', async () => {
    const { status, json } = await getJson(port, '/cluster/partitions');
    expect(status).toBe(200);
    expect(json).toEqual(fixturePartitions());
    expect((json as { partitions: unknown[] }).partitions).toHaveLength(271);
  });

  it('filters by node: partitions it owns or backs up', async () => {
    const { json } = await getJson(port, '/cluster/partitions?node=n2');
    const rows = (json as { partitions: { owner: string; backups: string[] }[] }).partitions;
    const expected = fixturePartitions().partitions.filter((p) => p.owner === 'n2' || p.backups.includes('n2'));
    expect(rows).toEqual(expected);
    expect(rows.length).toBe(181);
    expect(json).toMatchObject({ version: 9, partitionCount: 271 });
  });

  it('filters by one partition, alone or with a node', async () => {
    expect((await getJson(port, '/cluster/partitions?partition=7')).json).toEqual({
      version: 9,
      partitionCount: 271,
      partitions: [{ partition: 7, owner: 'n2', backups: ['n3'], epoch: 3 }],
    });
    expect((await getJson(port, '/cluster/partitions?partition=7&node=n1')).json).toMatchObject({ partitions: [] });
    expect((await getJson(port, '/cluster/partitions?node=nobody')).json).toMatchObject({ partitions: [] });
  });

  it.each(['-1', '271', 'abc', '1.5', '', '0x10', '1e2', '99999999999'])('rejects partition=%j with 400 FLO_INVALID_ARGUMENT', async (value) => {
    const { status, json } = await getJson(port, `/cluster/partitions?partition=${encodeURIComponent(value)}`);
    expect(status).toBe(400);
    expect(json).toMatchObject({ code: 'FLO_INVALID_ARGUMENT', retryable: false });
    expect(typeof (json as { error: unknown }).error).toBe('string');
  });

  it.each(['/cluster/partitions?partition=1&partition=2', '/cluster/partitions?node=', '/cluster/partitions?owner=n1', '/health?verbose=1'])(
    'rejects %s with 400',
    async (path) => {
      const { status, json } = await getJson(port, path);
      expect(status).toBe(400);
      expect(json).toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    },
  );
});

describe('GET /cluster/migrations', () => {
  it('answers in-flight and recent migrations exactly', async () => {
    const { status, json } = await getJson(port, '/cluster/migrations');
    expect(status).toBe(200);
    expect(json).toEqual(fixtureMigrations());
  });
});

describe('GET /cluster/quorum', () => {
  it('answers the quorum verdict, read-only included', async () => {
    expect((await getJson(port, '/cluster/quorum')).json).toEqual({ state: 'healthy', minority: false, readOnly: false, liveMembers: 3, expectedSize: 3 });
    source.snapshot = { ...fixtureSnapshot(), quorum: { state: 'partitioned', minority: true, readOnly: true, liveMembers: 1, expectedSize: 3 } };
    const { status, json } = await getJson(port, '/cluster/quorum');
    expect(status).toBe(200);
    expect(json).toEqual({ state: 'partitioned', minority: true, readOnly: true, liveMembers: 1, expectedSize: 3 });
  });
});

describe('errors', () => {
  it.each(['/', '/nope', '/health/', '/cluster', '/cluster/members/n1', '//evil/health'])('answers 404 FLO_NOT_FOUND for %s', async (path) => {
    const { status, json } = await getJson(port, path);
    expect(status).toBe(404);
    expect(json).toEqual({ error: expect.stringContaining('No such resource'), code: 'FLO_NOT_FOUND', retryable: false, details: expect.any(Object) });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s with 405 and an Allow header', async (method) => {
    const answer = await request(port, '/health', { method });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    expectJsonContentType(answer.headers);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_METHOD_NOT_ALLOWED', retryable: false });
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const answer = await request(port, '/cluster/members', { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(fixtureMembers())));
  });

  it('answers 500 FLO_INTERNAL when a route throws a plain error, without leaking its message', async () => {
    source.failing = { method: 'members', error: new Error('secret internals') };
    const { status, json } = await getJson(port, '/cluster/members');
    expect(status).toBe(500);
    expect(json).toEqual({ error: 'Internal error', code: 'FLO_INTERNAL', retryable: false });
  });

  it('answers a thrown FlotillaError with its catalog status and JSON', async () => {
    source.failing = { method: 'partitions', error: new FlotillaError('FLO_NODE_STOPPED', 'shutting down') };
    const { status, json } = await getJson(port, '/cluster/partitions');
    expect(status).toBe(503);
    expect(json).toEqual({ error: 'The node has stopped: shutting down', code: 'FLO_NODE_STOPPED', retryable: false });
  });

  it('answers 500 when the metrics snapshot throws, and keeps serving', async () => {
    source.failing = { method: 'metricsSnapshot', error: 'not even an Error' };
    const answer = await request(port, '/metrics');
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_INTERNAL' });
    source.failing = undefined;
    expect((await request(port, '/metrics')).status).toBe(200);
    expect((await getJson(port, '/health')).status).toBe(200);
  });
});

describe('request bodies and malformed requests', () => {
  it('refuses a declared body with 413 and closes the connection', async () => {
    const answer = await request(port, '/health', { method: 'GET', body: 'hello', headers: { 'content-type': 'text/plain', 'content-length': '5' } });
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED' });
  });

  it('refuses a huge declared body at once, before any of it arrives', async () => {
    const raw = await rawExchange(port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000\r\n\r\n', (r) => r.includes('}'));
    const answer = parseRaw(raw);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED', details: { bodyBytesMax: 0 } });
  });

  it('refuses a chunked body after its first byte, without reading the rest', async () => {
    const raw = await rawExchange(
      port,
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
      (received) => received.includes('}'),
    );
    const answer = parseRaw(raw);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED' });
  });

  it('accepts an empty chunked body', async () => {
    const raw = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
    expect(parseRaw(raw).status).toBe(200);
  });

  it('answers a request that is not HTTP with JSON 400, not Node\'s plain text', async () => {
    const answer = parseRaw(await rawExchange(port, 'HELLO THERE\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
  });

  it('answers oversized headers with JSON 413', async () => {
    const answer = parseRaw(await rawExchange(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_DECODE_OVERSIZED' });
  });

  it('answers 504 FLO_TIMEOUT when a request is not complete by its deadline', async () => {
    const quick = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0, requestTimeoutMs: 100 });
    try {
      // Headers announce a chunked body that never comes; the deadline must answer.
      const raw = await rawExchange(quick.address().port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n', (r) => r.includes('}'));
      const answer = parseRaw(raw);
      expect(answer.status).toBe(504);
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'FLO_TIMEOUT', retryable: true });
    } finally {
      await quick.close();
    }
  });
});
