/**
 * The routes of the cluster-tests API for TraitTest (`/trait/...`), CrossEntity
 * (`/cross/...`) and SingletonTest (`/singleton/...`): thin translations from HTTP to
 * entity calls and singleton operations, with bodies checked here (400 before any call).
 */
import { FlotillaError, type FlotillaNode } from 'flotilla';
import { CrossEntity, PING_PONG_COUNT_MAX, SINGLETON_TEST, TraitTest } from './extra-entities.js';
import type { Route, RouteRequest } from './http-api.js';

/** What these routes use of a node. */
export type ExtraRoutesNode = Pick<FlotillaNode, 'entity' | 'singleton'>;

function badBody(detail: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', detail);
}

function objectBody(body: unknown, shape: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badBody(`body must be a JSON object ${shape}`);
  return body as Record<string, unknown>;
}

function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string') throw badBody(`body.${field} must be a string`);
  return value;
}

function nonEmpty(body: Record<string, unknown>, field: string): string {
  const value = text(body, field);
  if (value.length === 0) throw badBody(`body.${field} must not be empty`);
  return value;
}

function id(request: RouteRequest): string {
  const value = request.params.id;
  if (value === undefined || value.length === 0) throw badBody('missing id');
  return value;
}

function traitRoutes(node: ExtraRoutesNode): Route[] {
  const trait = (r: RouteRequest) => node.entity(TraitTest, id(r));
  return [
    { method: 'POST', path: '/trait/:id/update', body: 'json', handle: (r) => trait(r).update(text(objectBody(r.body, '{"data": string}'), 'data')) },
    { method: 'GET', path: '/trait/:id', body: 'ignored', handle: (r) => trait(r).get() },
    {
      method: 'GET',
      path: '/trait/:id/audit-log',
      body: 'ignored',
      handle: async (r) => (await trait(r).auditLog()).map((e) => ({ action: e.action, data: e.data[0] ?? null, timestamp: e.timestamp })),
    },
    { method: 'GET', path: '/trait/:id/version', body: 'ignored', handle: (r) => trait(r).version() },
  ];
}

function crossRoutes(node: ExtraRoutesNode): Route[] {
  const cross = (r: RouteRequest) => node.entity(CrossEntity, id(r));
  return [
    {
      method: 'POST',
      path: '/cross/:id/send',
      body: 'json',
      handle: (r) => {
        const body = objectBody(r.body, '{"target_type": "CrossEntity", "target_id": string, "message": string}');
        if (body.target_type !== CrossEntity.type) throw badBody(`body.target_type must be "${CrossEntity.type}"`);
        return cross(r).send(nonEmpty(body, 'target_id'), text(body, 'message'));
      },
    },
    {
      method: 'POST',
      path: '/cross/:id/receive',
      body: 'json',
      handle: (r) => {
        const body = objectBody(r.body, '{"from": string, "message": string}');
        return cross(r).receive(nonEmpty(body, 'from'), text(body, 'message'));
      },
    },
    { method: 'GET', path: '/cross/:id/messages', body: 'ignored', handle: (r) => cross(r).messages() },
    {
      method: 'POST',
      path: '/cross/:id/ping-pong',
      body: 'json',
      handle: (r) => {
        const body = objectBody(r.body, '{"partner_id": string, "count": integer}');
        const count = body.count;
        if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0 || count > PING_PONG_COUNT_MAX) throw badBody(`body.count must be an integer in 0..${PING_PONG_COUNT_MAX}`);
        return cross(r).pingPong(nonEmpty(body, 'partner_id'), count);
      },
    },
  ];
}

function singletonRoutes(node: ExtraRoutesNode): Route[] {
  const singleton = () => node.singleton(SINGLETON_TEST);
  return [
    { method: 'POST', path: '/singleton/next-sequence', body: 'ignored', handle: () => singleton().next() },
    {
      method: 'GET',
      path: '/singleton/leader-history',
      body: 'ignored',
      handle: async () => (await singleton().history()).map((h) => ({ runner_id: h.runner, became_leader_at: h.becameLeaderAt, lost_leadership_at: h.lostLeadershipAt })),
    },
    { method: 'GET', path: '/singleton/current-runner', body: 'ignored', handle: () => singleton().runner() },
    { method: 'POST', path: '/singleton/clear-history', body: 'ignored', handle: async () => (await singleton().clearHistory(), null) },
    { method: 'POST', path: '/singleton/reset-sequence', body: 'ignored', handle: async () => (await singleton().resetCounter(), null) },
  ];
}

/** Every route this file adds, bound to `node`. */
export function extraRoutes(node: ExtraRoutesNode): Route[] {
  return [...traitRoutes(node), ...crossRoutes(node), ...singletonRoutes(node)];
}
