// The runner's routes over a fake node: bodies checked before any call, results passed
// through as the spec lists them, health and debug views, and the cluster-wide entity
// list that merges peers and skips the ones that do not answer.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../../src/core/errors.js';
import { amountOf, keyValueOf, runnerRoutes, type EntityRow, type PeerLister, type RunnerNode } from '../../../examples/cluster-tests/src/routes.js';
import type { Route } from '../../../examples/cluster-tests/src/http-api.js';
import { RouteAnswer } from '../../../examples/cluster-tests/src/http-api.js';


interface FakeOptions {
  readonly status?: string;
  readonly members?: { nodeId: string; state: string; tags: Record<string, string> }[];
}

/** A node whose entities are plain in-memory objects, per (type, id). */
function fakeNode(options: FakeOptions = {}): { node: RunnerNode; calls: string[] } {
  const calls: string[] = [];
  const counters = new Map<string, number>();
  const entity = (definition: { type: string }, id: string): Record<string, (...args: unknown[]) => Promise<unknown>> => {
    const key = `${definition.type}/${id}`;
    const record = (name: string, args: unknown[]): void => void calls.push(`${key}.${name}(${args.map((a) => JSON.stringify(a)).join(',')})`);
    return new Proxy(
      {},
      {
        get: (_t, name: string) => async (...args: unknown[]) => {
          record(name, args);
          if (name === 'increment') counters.set(key, (counters.get(key) ?? 0) + (args[0] as number));
          return name === 'increment' || name === 'get' ? (counters.get(key) ?? 0) : null;
        },
      },
    );
  };
  const node = {
    nodeId: 'n1',
    health: () => ({ status: options.status ?? 'ok', nodeId: 'n1', state: 'running', checks: {} }),
    partitionTable: () => ({ version: 3, partitionCount: 2, assignments: [{ partition: 0, owner: 'n1', backups: ['n2'], epoch: 4 }, { partition: 1, owner: 'n2', backups: [], epoch: 5 }] }),
    members: () => options.members ?? [{ nodeId: 'n1', state: 'alive', tags: { http: 'self' } }],
    entity,
    activeEntities: () => [{ type: 'Counter', id: 'b', partition: 9 }],
  };
  return { node: node as unknown as RunnerNode, calls };
}

function route(routes: Route[], method: string, path: string): Route {
  const found = routes.find((r) => r.method === method && r.path === path);
  if (found === undefined) throw new Error(`no route ${method} ${path}`);
  return found;
}

const signal = new AbortController().signal;
const req = (params: Record<string, string>, body?: unknown, query = '') => ({ params, body, query: new URLSearchParams(query), signal });

describe('runner routes', () => {
  it.each([[5], [-3], [0], [Number.MAX_SAFE_INTEGER]])('accepts the amount %s', (n) => {
    expect(amountOf(n)).toBe(n);
  });

  it.each([['5'], [1.5], [null], [{ n: 1 }], [[1]], [Number.MAX_SAFE_INTEGER + 1], [undefined]])('refuses the amount %j', (body) => {
    expect(() => amountOf(body)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }) as Error);
  });

  it.each([
    [{ key: 'a', value: null }, { key: 'a', value: null }],
    [{ key: 'a', value: { deep: [1] } }, { key: 'a', value: { deep: [1] } }],
  ])('accepts the kv body %j', (body, expected) => {
    expect(keyValueOf(body)).toEqual(expected);
  });

  it.each([[null], [[1]], ['x'], [{ value: 1 }], [{ key: '', value: 1 }], [{ key: 1, value: 1 }], [{ key: 'a' }]])('refuses the kv body %j', (body) => {
    let caught: unknown;
    try {
      keyValueOf(body);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_INVALID_ARGUMENT')).toBe(true);
  });

  it('calls the entity named by the path', async () => {
    const { node, calls } = fakeNode();
    const routes = runnerRoutes(node, { httpAddress: 'self' });
    expect(await route(routes, 'POST', '/counter/:id/increment').handle(req({ id: 'c1' }, 5))).toBe(5);
    expect(await route(routes, 'POST', '/counter/:id/decrement').handle(req({ id: 'c1' }, 2))).toBe(null);
    expect(await route(routes, 'GET', '/counter/:id').handle(req({ id: 'c1' }))).toBe(5);
    await route(routes, 'POST', '/kv/:id/set').handle(req({ id: 'k' }, { key: 'a', value: [1] }));
    await route(routes, 'GET', '/kv/:id/get/:key').handle(req({ id: 'k', key: 'a/b' }));
    await route(routes, 'DELETE', '/kv/:id/delete/:key').handle(req({ id: 'k', key: 'a' }));
    expect(calls).toEqual(['Counter/c1.increment(5)', 'Counter/c1.decrement(2)', 'Counter/c1.get()', 'KVStore/k.set("a",[1])', 'KVStore/k.get("a/b")', 'KVStore/k.delete("a")']);
  });

  it('checks the body before calling', () => {
    const { node, calls } = fakeNode();
    const routes = runnerRoutes(node, { httpAddress: 'self' });
    expect(() => route(routes, 'POST', '/counter/:id/increment').handle(req({ id: 'c1' }, 'five'))).toThrow();
    expect(calls).toEqual([]);
  });

  it('answers /health 200 when ok and 503 otherwise', () => {
    const ok = route(runnerRoutes(fakeNode().node, { httpAddress: 'h:1' }), 'GET', '/health').handle(req({}));
    expect(ok).toMatchObject({ status: 'ok', http: 'h:1', members: 1, partitionTableVersion: 3 });
    const joining = route(runnerRoutes(fakeNode({ status: 'joining' }).node, { httpAddress: 'h:1' }), 'GET', '/health').handle(req({}));
    expect(joining).toBeInstanceOf(RouteAnswer);
    expect((joining as RouteAnswer).status).toBe(503);
  });

  it('lists the partition table as shards', () => {
    expect(route(runnerRoutes(fakeNode().node, { httpAddress: 'self' }), 'GET', '/debug/shards').handle(req({}))).toEqual([
      { partition: 0, owner: 'n1', backups: ['n2'], epoch: 4 },
      { partition: 1, owner: 'n2', backups: [], epoch: 5 },
    ]);
  });

  it('gathers entities from live peers, skipping those that fail', async () => {
    const members: NonNullable<FakeOptions['members']> = [
      { nodeId: 'n1', state: 'alive', tags: { http: 'self' } },
      { nodeId: 'n2', state: 'alive', tags: { http: 'peer2' } },
      { nodeId: 'n3', state: 'alive', tags: { http: 'peer3' } },
      { nodeId: 'n4', state: 'dead', tags: { http: 'peer4' } },
      { nodeId: 'n5', state: 'alive', tags: {} },
    ];
    const asked: string[] = [];
    const listPeer: PeerLister = (address) => {
      asked.push(address);
      if (address === 'peer3') return Promise.reject(new Error('refused'));
      return Promise.resolve<EntityRow[]>([{ type: 'Counter', id: 'a', node: 'n2', partition: 1 }]);
    };
    const failed: string[] = [];
    const routes = runnerRoutes(fakeNode({ members }).node, { httpAddress: 'self', listPeer, onPeerError: (peer) => failed.push(peer) });
    const all = await route(routes, 'GET', '/debug/entities').handle(req({}));
    expect(all).toEqual([
      { type: 'Counter', id: 'a', node: 'n2', partition: 1 },
      { type: 'Counter', id: 'b', node: 'n1', partition: 9 },
    ]);
    expect(asked.sort()).toEqual(['peer2', 'peer3']);
    expect(failed).toEqual(['n3']);
    const local = await route(routes, 'GET', '/debug/entities').handle(req({}, undefined, 'scope=local'));
    expect(local).toEqual([{ type: 'Counter', id: 'b', node: 'n1', partition: 9 }]);
  });
});
