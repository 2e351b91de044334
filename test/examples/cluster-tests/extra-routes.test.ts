// The trait, cross-entity and singleton routes over a fake node: bodies checked before any
// call, arguments passed as the entities take them, answers shaped as the spec lists them.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../../src/core/errors.js';
import { extraRoutes, type ExtraRoutesNode } from '../../../examples/cluster-tests/src/extra-routes.js';
import { PING_PONG_COUNT_MAX, SINGLETON_TEST } from '../../../examples/cluster-tests/src/extra-entities.js';
import type { Route } from '../../../examples/cluster-tests/src/http-api.js';

/** A node that records every call and answers from `answers` (by handler or operation name). */
function fakeNode(answers: Record<string, unknown> = {}): { node: ExtraRoutesNode; calls: string[] } {
  const calls: string[] = [];
  const proxy = (prefix: string): Record<string, (...args: unknown[]) => Promise<unknown>> =>
    new Proxy(
      {},
      {
        get: (_t, name: string) => async (...args: unknown[]) => {
          calls.push(`${prefix}.${name}(${args.map((a) => JSON.stringify(a)).join(',')})`);
          return answers[name] ?? null;
        },
      },
    );
  const node = { entity: (def: { type: string }, id: string) => proxy(`${def.type}/${id}`), singleton: (name: string) => proxy(name) };
  return { node: node as unknown as ExtraRoutesNode, calls };
}

function route(routes: Route[], method: string, path: string): Route {
  const found = routes.find((r) => r.method === method && r.path === path);
  if (found === undefined) throw new Error(`no route ${method} ${path}`);
  return found;
}

const signal = new AbortController().signal;
const req = (params: Record<string, string>, body?: unknown) => ({ params, body, query: new URLSearchParams(), signal });

async function refused(run: () => unknown): Promise<boolean> {
  try {
    await run();
    return false;
  } catch (error) {
    return isFlotillaError(error, 'FLO_INVALID_ARGUMENT');
  }
}

describe('extra runner routes', () => {
  it('passes trait updates and reshapes the audit log', async () => {
    const { node, calls } = fakeNode({ auditLog: [{ action: 'update', data: ['x'], timestamp: 5 }], version: 1 });
    const routes = extraRoutes(node);
    await route(routes, 'POST', '/trait/:id/update').handle(req({ id: 't' }, { data: 'x' }));
    expect(await route(routes, 'GET', '/trait/:id/audit-log').handle(req({ id: 't' }))).toEqual([{ action: 'update', data: 'x', timestamp: 5 }]);
    expect(await route(routes, 'GET', '/trait/:id/version').handle(req({ id: 't' }))).toBe(1);
    expect(calls).toEqual(['TraitTest/t.update("x")', 'TraitTest/t.auditLog()', 'TraitTest/t.version()']);
  });

  it('passes cross-entity calls with their arguments', async () => {
    const { node, calls } = fakeNode({ pingPong: 3 });
    const routes = extraRoutes(node);
    await route(routes, 'POST', '/cross/:id/send').handle(req({ id: 'a' }, { target_type: 'CrossEntity', target_id: 'b', message: 'hi' }));
    await route(routes, 'POST', '/cross/:id/receive').handle(req({ id: 'a' }, { from: 'z', message: '' }));
    expect(await route(routes, 'POST', '/cross/:id/ping-pong').handle(req({ id: 'a' }, { partner_id: 'b', count: 3 }))).toBe(3);
    expect(calls).toEqual(['CrossEntity/a.send("b","hi")', 'CrossEntity/a.receive("z","")', 'CrossEntity/a.pingPong("b",3)']);
  });

  it.each([
    ['POST', '/trait/:id/update', { data: 1 }],
    ['POST', '/trait/:id/update', ['x']],
    ['POST', '/cross/:id/send', { target_type: 'Counter', target_id: 'b', message: 'x' }],
    ['POST', '/cross/:id/send', { target_type: 'CrossEntity', target_id: '', message: 'x' }],
    ['POST', '/cross/:id/receive', { message: 'x' }],
    ['POST', '/cross/:id/ping-pong', { partner_id: 'b', count: PING_PONG_COUNT_MAX + 1 }],
    ['POST', '/cross/:id/ping-pong', { partner_id: 'b', count: 1.5 }],
  ])('refuses %s %s with %j before any call', async (method, path, body) => {
    const { node, calls } = fakeNode();
    expect(await refused(() => route(extraRoutes(node), method, path).handle(req({ id: 'a' }, body)))).toBe(true);
    expect(calls).toEqual([]);
  });

  it('maps the singleton operations and reshapes the history', async () => {
    const history = [{ runner: 'n1', epoch: 3, becameLeaderAt: 10, lostLeadershipAt: 20 }, { runner: 'n2', epoch: 4, becameLeaderAt: 20, lostLeadershipAt: null }];
    const { node, calls } = fakeNode({ next: 7, history, runner: 'n2' });
    const routes = extraRoutes(node);
    expect(await route(routes, 'POST', '/singleton/next-sequence').handle(req({}))).toBe(7);
    expect(await route(routes, 'GET', '/singleton/leader-history').handle(req({}))).toEqual([
      { runner_id: 'n1', became_leader_at: 10, lost_leadership_at: 20 },
      { runner_id: 'n2', became_leader_at: 20, lost_leadership_at: null },
    ]);
    expect(await route(routes, 'GET', '/singleton/current-runner').handle(req({}))).toBe('n2');
    expect(await route(routes, 'POST', '/singleton/clear-history').handle(req({}))).toBeNull();
    expect(await route(routes, 'POST', '/singleton/reset-sequence').handle(req({}))).toBeNull();
    expect(calls).toEqual([`${SINGLETON_TEST}.next()`, `${SINGLETON_TEST}.history()`, `${SINGLETON_TEST}.runner()`, `${SINGLETON_TEST}.clearHistory()`, `${SINGLETON_TEST}.resetCounter()`]);
  });
});
