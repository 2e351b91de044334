// The /entities routes against a fixture source: exact JSON, type filters, the bounded
// `limit` (default, maximum, truncation), 400 for bad parameters and 404 when the source
// has no entities; and, as a property, that the counts always agree with the listing.
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENTITIES_LIMIT_DEFAULT, ENTITIES_LIMIT_MAX, ENTITY_ROUTES, startAdminServer, type AdminServer, type EntitiesReport, type EntityPartitionsReport } from '../../src/gateway/index.js';
import type { AdminActiveEntity } from '../../src/gateway/admin-source.js';
import type { AdminMetrics } from '../../src/gateway/metrics.js';
import { FixtureEntities, FixtureSource } from './fixture.js';
import { TEST_ADMIN_TOKEN, getJson, request } from './http-helpers.js';

const source = new FixtureSource();
let entities: FixtureEntities;
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
  entities = new FixtureEntities();
  source.entities = entities;
});

function many(count: number): AdminActiveEntity[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'Counter', id: `c-${String(i).padStart(6, '0')}`, partition: i % 271 }));
}

describe('GET /entities', () => {
  it('lists every type (registered ones at 0) and the entities by type then id', async () => {
    const { status, json } = await getJson(port, '/entities');
    expect(status).toBe(200);
    expect(json).toEqual({
      nodeId: 'n1',
      active: 5,
      types: [
        { type: 'Cart', active: 1 },
        { type: 'Counter', active: 4 },
        { type: 'Idle', active: 0 },
      ],
      entities: [
        { type: 'Cart', id: 'u-1', partition: 5 },
        { type: 'Counter', id: 'c-1', partition: 200 },
        { type: 'Counter', id: 'c-10', partition: 5 },
        { type: 'Counter', id: 'c-2', partition: 17 },
        { type: 'Counter', id: 'c-3', partition: 17 },
      ],
      truncated: false,
    });
  });

  it('filters by type, counts included; an unknown type is simply empty', async () => {
    const counter = (await getJson(port, '/entities?type=Counter')).json as EntitiesReport;
    expect(counter.active).toBe(4);
    expect(counter.types).toEqual([{ type: 'Counter', active: 4 }]);
    expect(counter.entities.map((e) => e.id)).toEqual(['c-1', 'c-10', 'c-2', 'c-3']);
    const idle = (await getJson(port, '/entities?type=Idle')).json as EntitiesReport;
    expect(idle).toEqual({ nodeId: 'n1', active: 0, types: [{ type: 'Idle', active: 0 }], entities: [], truncated: false });
    const none = await getJson(port, '/entities?type=Nope');
    expect(none.status).toBe(200);
    expect(none.json).toEqual({ nodeId: 'n1', active: 0, types: [], entities: [], truncated: false });
  });

  it('lists an active entity of a type no longer registered', async () => {
    entities.registered = [];
    const report = (await getJson(port, '/entities')).json as EntitiesReport;
    expect(report.types).toEqual([
      { type: 'Cart', active: 1 },
      { type: 'Counter', active: 4 },
    ]);
  });

  it.each([
    ['limit=0', 0, true],
    ['limit=2', 2, true],
    ['limit=5', 5, false],
    ['type=Counter&limit=3', 3, true],
  ])('?%s lists %i entities (truncated: %s) and keeps the totals', async (query, listed, truncated) => {
    const report = (await getJson(port, `/entities?${query}`)).json as EntitiesReport;
    expect(report.entities).toHaveLength(listed);
    expect(report.truncated).toBe(truncated);
    expect(report.active).toBe(query.includes('Counter') ? 4 : 5);
  });

  it(`lists ${ENTITIES_LIMIT_DEFAULT} by default and up to ${ENTITIES_LIMIT_MAX} when asked`, async () => {
    entities.held = many(ENTITIES_LIMIT_MAX + 5);
    const byDefault = (await getJson(port, '/entities')).json as EntitiesReport;
    expect(byDefault.entities).toHaveLength(ENTITIES_LIMIT_DEFAULT);
    expect(byDefault.truncated).toBe(true);
    expect(byDefault.active).toBe(ENTITIES_LIMIT_MAX + 5);
    expect(byDefault.entities[0]).toEqual({ type: 'Counter', id: 'c-000000', partition: 0 });
    const most = (await getJson(port, `/entities?limit=${ENTITIES_LIMIT_MAX}`)).json as EntitiesReport;
    expect(most.entities).toHaveLength(ENTITIES_LIMIT_MAX);
    expect(most.entities.at(-1)?.id).toBe(`c-00${ENTITIES_LIMIT_MAX - 1}`);
  });

  it.each([
    ['limit=-1', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=1e3', 'limit'],
    [`limit=${ENTITIES_LIMIT_MAX + 1}`, 'limit'],
    ['limit=99999999999', 'limit'],
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['type=', 'type'],
    ['type=A&type=B', 'type'],
    ['node=n1', 'node'],
  ])('?%s is 400 FLO_INVALID_ARGUMENT naming %s', async (query, parameter) => {
    const { status, json } = await getJson(port, `/entities?${query}`);
    expect(status).toBe(400);
    expect(json).toMatchObject({ code: 'FLO_INVALID_ARGUMENT', retryable: false, details: { parameter } });
  });

  it('answers 404 FLO_NOT_FOUND on both routes when the source has no entities', async () => {
    source.entities = undefined;
    for (const path of ['/entities', '/entities/partitions']) {
      const { status, json } = await getJson(port, path);
      expect(status).toBe(404);
      expect(json).toMatchObject({ code: 'FLO_NOT_FOUND', error: expect.stringContaining('hosts no entities') as unknown });
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const answer = await request(port, '/entities', { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.body).toBe('');
  });
});

describe('GET /entities/partitions', () => {
  it('counts active entities per partition, by type, partitions ascending', async () => {
    const { status, json } = await getJson(port, '/entities/partitions');
    expect(status).toBe(200);
    expect(json).toEqual({
      nodeId: 'n1',
      active: 5,
      partitions: [
        { partition: 5, active: 2, types: { Cart: 1, Counter: 1 } },
        { partition: 17, active: 2, types: { Counter: 2 } },
        { partition: 200, active: 1, types: { Counter: 1 } },
      ],
    });
  });

  it('filters by type and refuses other parameters', async () => {
    const cart = (await getJson(port, '/entities/partitions?type=Cart')).json as EntityPartitionsReport;
    expect(cart).toEqual({ nodeId: 'n1', active: 1, partitions: [{ partition: 5, active: 1, types: { Cart: 1 } }] });
    const bad = await getJson(port, '/entities/partitions?limit=3');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'FLO_INVALID_ARGUMENT', details: { parameter: 'limit' } });
  });
});

describe('entity routes (property)', () => {
  const route = (path: string) => ENTITY_ROUTES.find((r) => r.path === path)!;
  const unusedMetrics = {} as AdminMetrics;
  const entityArb = fc.record({ type: fc.constantFrom('A', 'B', 'C'), id: fc.string({ minLength: 1, maxLength: 6 }), partition: fc.nat(270) });

  it('counts agree with the listing, the page is sorted and bounded, per-partition sums match', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(entityArb, { selector: (e) => `${e.type}/${e.id}`, maxLength: 60 }), fc.nat(80), async (held, limit) => {
        const fixture = new FixtureSource();
        fixture.entities = Object.assign(new FixtureEntities(), { held, registered: ['A'] });
        const ctx = (query: string) => ({ source: fixture, metrics: unusedMetrics, query: new URLSearchParams(query) });
        const list = JSON.parse((await route('/entities').handle(ctx(`limit=${limit}`))).body) as EntitiesReport;
        const parts = JSON.parse((await route('/entities/partitions').handle(ctx(''))).body) as EntityPartitionsReport;
        expect(list.active).toBe(held.length);
        expect(list.types.reduce((n, t) => n + t.active, 0)).toBe(held.length);
        expect(list.entities).toHaveLength(Math.min(limit, held.length));
        expect(list.truncated).toBe(held.length > limit);
        const keys = list.entities.map((e) => [e.type, e.id] as const);
        const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        expect(keys).toEqual(sorted);
        expect(parts.active).toBe(held.length);
        expect(parts.partitions.reduce((n, p) => n + p.active, 0)).toBe(held.length);
        for (const p of parts.partitions) expect(Object.values(p.types).reduce((n, c) => n + c, 0)).toBe(p.active);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
