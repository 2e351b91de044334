/**
 * The routes of the WorkflowTest, ActivityTest and TimerTest APIs: thin translations from
 * HTTP to workflows, timers and entities through Flotilla's public API, bodies checked
 * here so a wrong type is a 400 before anything runs.
 */
import { FlotillaError, type FlotillaNode } from 'flotilla';
import {
  ACTIVITY_LOG_TYPE,
  ActivityWorkflow,
  executionId,
  LONG_STEPS_MAX,
  LongWorkflow,
  SimpleWorkflow,
  TEST_TIMER_KIND,
  TimerTest,
  WorkflowIndex,
  type failingWorkflow,
} from './durable-entities.js';
import type { Route, RouteRequest } from './http-api.js';

/** What the durable routes use of a node. */
export type DurableRunnerNode = Pick<FlotillaNode, 'entity' | 'workflows' | 'timers'>;

/** Longest timer delay accepted, ms (a day). */
export const TIMER_DELAY_MAX_MS = 86_400_000;

function badBody(detail: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', detail);
}

function param(request: RouteRequest, name: string): string {
  const value = request.params[name];
  if (value === undefined || value.length === 0) throw badBody(`missing ${name}`);
  return value;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badBody('body must be a JSON object');
  return body as Record<string, unknown>;
}

function stringField(body: unknown, name: string): string {
  const value = objectBody(body)[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw badBody(`body.${name} must be a string of 1..256 characters`);
  return value;
}

function intField(body: unknown, name: string, min: number, max: number): number {
  const value = objectBody(body)[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw badBody(`body.${name} must be an integer from ${min} to ${max}`);
  return value;
}

function workflowsOf(node: DurableRunnerNode) {
  if (node.workflows === undefined) throw new FlotillaError('FLO_WORKFLOW_UNKNOWN', 'this runner runs no workflows');
  return node.workflows;
}

function timersOf(node: DurableRunnerNode) {
  if (node.timers === undefined) throw new FlotillaError('FLO_NOT_FOUND', 'this runner has no durable timers');
  return node.timers;
}

async function execution(node: DurableRunnerNode, id: string, execId: string): Promise<{ id: string; steps_completed: string[]; result: string | null } | undefined> {
  const stored = await workflowsOf(node).describe(executionId(id, execId));
  if (stored === undefined) return undefined;
  return { id: execId, steps_completed: [...stored.stepsCompleted], result: typeof stored.result === 'string' ? stored.result : null };
}

function workflowRoutes(node: DurableRunnerNode, failing: ReturnType<typeof failingWorkflow>): Route[] {
  const begin = async (r: RouteRequest): Promise<{ id: string; execId: string }> => {
    const id = param(r, 'id');
    const execId = stringField(r.body, 'exec_id');
    await node.entity(WorkflowIndex, id).started(execId);
    return { id, execId };
  };
  return [
    {
      method: 'POST',
      path: '/workflow/:id/run-simple',
      body: 'json',
      handle: async (r) => {
        const { id, execId } = await begin(r);
        return workflowsOf(node).run(SimpleWorkflow, executionId(id, execId), { execId });
      },
    },
    {
      method: 'POST',
      path: '/workflow/:id/run-failing',
      body: 'json',
      handle: async (r) => {
        const failAt = intField(r.body, 'fail_at', 0, 1_000);
        const { id, execId } = await begin(r);
        return workflowsOf(node).run(failing, executionId(id, execId), { id, execId, failAt });
      },
    },
    {
      method: 'POST',
      path: '/workflow/:id/run-long',
      body: 'json',
      handle: async (r) => {
        const steps = intField(r.body, 'steps', 0, LONG_STEPS_MAX);
        const { id, execId } = await begin(r);
        return workflowsOf(node).run(LongWorkflow, executionId(id, execId), { execId, steps });
      },
    },
    {
      method: 'GET',
      path: '/workflow/:id/execution/:exec',
      body: 'ignored',
      handle: async (r) => {
        const found = await execution(node, param(r, 'id'), param(r, 'exec'));
        if (found === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no execution ${param(r, 'exec')} of workflow ${param(r, 'id')}`);
        return found;
      },
    },
    {
      method: 'GET',
      path: '/workflow/:id/executions',
      body: 'ignored',
      handle: async (r) => {
        const id = param(r, 'id');
        const execIds = await node.entity(WorkflowIndex, id).executions();
        const found = await Promise.all(execIds.map((e) => execution(node, id, e)));
        return found.filter((e) => e !== undefined);
      },
    },
  ];
}

function activityRoutes(node: DurableRunnerNode): Route[] {
  return [
    {
      method: 'POST',
      path: '/activity/:id/run',
      body: 'json',
      handle: (r) => {
        const id = param(r, 'id');
        const execId = stringField(r.body, 'exec_id');
        return workflowsOf(node).run(ActivityWorkflow, `activity/${id}/${execId}`, { id, execId });
      },
    },
    {
      method: 'GET',
      path: '/activity/:id/log',
      body: 'ignored',
      handle: async (r) => (await workflowsOf(node).record(ACTIVITY_LOG_TYPE, param(r, 'id'))) ?? [],
    },
  ];
}

function timerRoutes(node: DurableRunnerNode): Route[] {
  return [
    {
      method: 'POST',
      path: '/timer/:id/schedule',
      body: 'json',
      handle: async (r) => {
        const id = param(r, 'id');
        const timerId = stringField(r.body, 'timer_id');
        const delayMs = intField(r.body, 'delay_ms', 0, TIMER_DELAY_MAX_MS);
        const scheduledAt = Date.now();
        await timersOf(node).schedule({ id: `${id}/${timerId}`, key: id, dueAt: scheduledAt + delayMs, kind: TEST_TIMER_KIND, payload: { entity: id, timerId, scheduledAt } });
        return null;
      },
    },
    {
      method: 'POST',
      path: '/timer/:id/cancel',
      body: 'json',
      handle: (r) => {
        const id = param(r, 'id');
        return timersOf(node).cancel(`${id}/${stringField(r.body, 'timer_id')}`, id);
      },
    },
    { method: 'GET', path: '/timer/:id/fires', body: 'ignored', handle: (r) => node.entity(TimerTest, param(r, 'id')).fires() },
    { method: 'POST', path: '/timer/:id/clear-fires', body: 'ignored', handle: (r) => node.entity(TimerTest, param(r, 'id')).clear() },
  ];
}

/** Every WorkflowTest, ActivityTest and TimerTest route, bound to `node`. */
export function durableRoutes(node: DurableRunnerNode, failing: ReturnType<typeof failingWorkflow>): Route[] {
  return [...workflowRoutes(node, failing), ...activityRoutes(node), ...timerRoutes(node)];
}
