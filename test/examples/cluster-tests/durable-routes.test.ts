// The runner's WorkflowTest, ActivityTest and TimerTest routes over a fake node: bodies
// checked before anything runs, execution and timer ids built as documented, stored
// executions shaped as the spec lists them.
import { describe, expect, it } from 'vitest';
import { DURABLE_FIXTURES } from '../../../examples/cluster-tests/src/durable-entities.js';
import { durableRoutes, type DurableRunnerNode } from '../../../examples/cluster-tests/src/durable-routes.js';
import type { Route } from '../../../examples/cluster-tests/src/http-api.js';

function fakeNode(): { node: DurableRunnerNode; calls: string[] } {
  const calls: string[] = [];
  const entity = (definition: { type: string }, id: string) =>
    new Proxy(
      {},
      {
        get: (_t, name: string) => async (...args: unknown[]) => {
          calls.push(`${definition.type}/${id}.${name}(${args.map((a) => JSON.stringify(a)).join(',')})`);
          return name === 'executions' ? ['e1'] : name === 'started' ? 1 : [];
        },
      },
    );
  const node = {
    entity,
    workflows: {
      run: async (def: { name: string }, id: string, input: unknown) => {
        calls.push(`run ${def.name} ${id} ${JSON.stringify(input)}`);
        return 'done';
      },
      describe: async (id: string) => (id === 'w/e1' ? { id, name: 'x', status: 'completed', stepsCompleted: ['step-1'], result: 'r' } : undefined),
      record: async () => undefined,
      signal: async () => true,
    },
    timers: {
      schedule: async (spec: { id: string; key?: string; kind: string }) => void calls.push(`schedule ${spec.id} key=${spec.key} ${spec.kind}`),
      cancel: async (id: string, key?: string) => {
        calls.push(`cancel ${id} key=${key}`);
        return true;
      },
    },
  };
  return { node: node as unknown as DurableRunnerNode, calls };
}

function route(routes: Route[], method: string, path: string): Route {
  const found = routes.find((r) => r.method === method && r.path === path);
  if (found === undefined) throw new Error(`no route ${method} ${path}`);
  return found;
}

const signal = new AbortController().signal;
const req = (params: Record<string, string>, body?: unknown) => ({ params, body, query: new URLSearchParams(), signal });

describe('durable runner routes', () => {
  it('run-simple counts the start and runs execution {id}/{exec_id}', async () => {
    const { node, calls } = fakeNode();
    const routes = durableRoutes(node, DURABLE_FIXTURES.failing);
    expect(await route(routes, 'POST', '/workflow/:id/run-simple').handle(req({ id: 'w' }, { exec_id: 'e1' }))).toBe('done');
    expect(calls).toEqual(['WorkflowIndex/w.started("e1")', 'run WorkflowTest.simple w/e1 {"execId":"e1"}']);
  });

  it.each([
    ['/workflow/:id/run-simple', {}],
    ['/workflow/:id/run-simple', { exec_id: '' }],
    ['/workflow/:id/run-long', { exec_id: 'x', steps: 'many' }],
    ['/workflow/:id/run-long', { exec_id: 'x', steps: -1 }],
    ['/workflow/:id/run-failing', { exec_id: 'x' }],
    ['/activity/:id/run', '"x1"'],
    ['/timer/:id/schedule', { timer_id: 'a', delay_ms: 1.5 }],
    ['/timer/:id/cancel', {}],
  ])('%s refuses %j with FLO_INVALID_ARGUMENT before anything runs', async (path, body) => {
    const { node, calls } = fakeNode();
    const handled = Promise.resolve().then(() => route(durableRoutes(node, DURABLE_FIXTURES.failing), 'POST', path).handle(req({ id: 'w' }, body)));
    await expect(handled).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    expect(calls).toEqual([]);
  });

  it('an execution is {id, steps_completed, result}; an unknown one is FLO_NOT_FOUND', async () => {
    const { node } = fakeNode();
    const routes = durableRoutes(node, DURABLE_FIXTURES.failing);
    const get = route(routes, 'GET', '/workflow/:id/execution/:exec');
    expect(await get.handle(req({ id: 'w', exec: 'e1' }))).toEqual({ id: 'e1', steps_completed: ['step-1'], result: 'r' });
    await expect(Promise.resolve().then(() => get.handle(req({ id: 'w', exec: 'nope' })))).rejects.toMatchObject({ code: 'FLO_NOT_FOUND' });
    expect(await route(routes, 'GET', '/workflow/:id/executions').handle(req({ id: 'w' }))).toEqual([{ id: 'e1', steps_completed: ['step-1'], result: 'r' }]);
  });

  it('timers are {id}/{timer_id}, kept in {id}\'s partition', async () => {
    const { node, calls } = fakeNode();
    const routes = durableRoutes(node, DURABLE_FIXTURES.failing);
    expect(await route(routes, 'POST', '/timer/:id/schedule').handle(req({ id: 'T' }, { timer_id: 'a', delay_ms: 10 }))).toBeNull();
    expect(await route(routes, 'POST', '/timer/:id/cancel').handle(req({ id: 'T' }, { timer_id: 'a' }))).toBe(true);
    expect(calls).toEqual(['schedule T/a key=T timer-test', 'cancel T/a key=T']);
  });
});
