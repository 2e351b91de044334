/**
 * The routes of the cluster-tests API (Counter, KVStore, health and debug), each a thin
 * translation from HTTP to an entity call through Flotilla's public API. Bodies are
 * checked here so a wrong type is a 400 before any call leaves the node.
 */
import { FlotillaError, type FlotillaNode } from 'flotilla';
import { Counter, KVStore, type JsonValue } from './entities.js';
import { extraRoutes } from './extra-routes.js';
import { RouteAnswer, type Route, type RouteRequest } from './http-api.js';
import { DURABLE_FIXTURES } from './durable-entities.js';
import { durableRoutes } from './durable-routes.js';

/** The gossip tag in which each runner publishes its HTTP API address. */
export const HTTP_TAG = 'http';

/** How long `/debug/entities` waits for one peer's list, ms. */
export const PEER_LIST_TIMEOUT_MS = 5_000;

/** What the routes use of a node (a `FlotillaNode` fits). */
export type RunnerNode = Pick<FlotillaNode, 'nodeId' | 'health' | 'partitionTable' | 'members' | 'entity' | 'activeEntities' | 'workflows' | 'timers' | 'singleton'>;

/** One row of `/debug/entities`. */
export interface EntityRow {
  readonly type: string;
  readonly id: string;
  readonly node: string;
  readonly partition: number;
}

/** Fetches one peer's node-local entity list; the default uses `fetch`. */
export type PeerLister = (httpAddress: string, signal: AbortSignal) => Promise<EntityRow[]>;

function badBody(detail: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', detail);
}

/** The body as an integer amount (a JSON number with no fraction, within 2^53). */
export function amountOf(body: unknown): number {
  if (typeof body !== 'number' || !Number.isSafeInteger(body)) throw badBody('body must be an integer JSON number');
  return body;
}

/** The body as `{key, value}` (a non-empty string key; any JSON value). */
export function keyValueOf(body: unknown): { key: string; value: JsonValue } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badBody('body must be a JSON object {"key": string, "value": any}');
  const { key, value } = body as { key?: unknown; value?: unknown };
  if (typeof key !== 'string' || key.length === 0) throw badBody('body.key must be a non-empty string');
  if (value === undefined) throw badBody('body.value is required');
  return { key, value: value as JsonValue };
}

function param(request: RouteRequest, name: string): string {
  const value = request.params[name];
  if (value === undefined || value.length === 0) throw badBody(`missing ${name}`);
  return value;
}

function counterRoutes(node: RunnerNode): Route[] {
  const counter = (r: RouteRequest) => node.entity(Counter, param(r, 'id'));
  return [
    { method: 'POST', path: '/counter/:id/increment', body: 'json', handle: (r) => counter(r).increment(amountOf(r.body)) },
    { method: 'POST', path: '/counter/:id/decrement', body: 'json', handle: (r) => counter(r).decrement(amountOf(r.body)) },
    { method: 'GET', path: '/counter/:id', body: 'ignored', handle: (r) => counter(r).get() },
    { method: 'POST', path: '/counter/:id/reset', body: 'ignored', handle: (r) => counter(r).reset() },
  ];
}

function kvRoutes(node: RunnerNode): Route[] {
  const kv = (r: RouteRequest) => node.entity(KVStore, param(r, 'id'));
  return [
    {
      method: 'POST',
      path: '/kv/:id/set',
      body: 'json',
      handle: (r) => {
        const { key, value } = keyValueOf(r.body);
        return kv(r).set(key, value);
      },
    },
    { method: 'GET', path: '/kv/:id/get/:key', body: 'ignored', handle: (r) => kv(r).get(param(r, 'key')) },
    { method: 'DELETE', path: '/kv/:id/delete/:key', body: 'ignored', handle: (r) => kv(r).delete(param(r, 'key')) },
    { method: 'GET', path: '/kv/:id/keys', body: 'ignored', handle: (r) => kv(r).keys() },
    { method: 'POST', path: '/kv/:id/clear', body: 'ignored', handle: (r) => kv(r).clear() },
  ];
}

function healthRoute(node: RunnerNode, httpAddress: string): Route {
  return {
    method: 'GET',
    path: '/health',
    body: 'ignored',
    handle: () => {
      const report = node.health();
      const table = node.partitionTable();
      const value = {
        ...report,
        http: httpAddress,
        members: node.members().filter((m) => m.state === 'alive' || m.state === 'suspect').length,
        partitionTableVersion: table?.version ?? null,
      };
      return report.status === 'ok' ? value : new RouteAnswer(503, value);
    },
  };
}

function shardsRoute(node: RunnerNode): Route {
  return {
    method: 'GET',
    path: '/debug/shards',
    body: 'ignored',
    handle: () =>
      (node.partitionTable()?.assignments ?? []).map((a) => ({ partition: a.partition, owner: a.owner, backups: [...a.backups], epoch: a.epoch })),
  };
}

function localEntities(node: RunnerNode): EntityRow[] {
  return node.activeEntities().map((e) => ({ type: e.type, id: e.id, node: node.nodeId, partition: e.partition }));
}

/** The default `PeerLister`: GET `/debug/entities?scope=local` on the peer. */
export const fetchPeerEntities: PeerLister = async (httpAddress, signal) => {
  const response = await fetch(`http://${httpAddress}/debug/entities?scope=local`, { signal: AbortSignal.any([signal, AbortSignal.timeout(PEER_LIST_TIMEOUT_MS)]) });
  if (!response.ok) throw new FlotillaError('FLO_CONNECTION_FAILED', `${httpAddress} answered ${response.status}`);
  const rows = (await response.json()) as unknown;
  if (!Array.isArray(rows)) throw new FlotillaError('FLO_CONNECTION_FAILED', `${httpAddress} answered something other than a list`);
  return rows as EntityRow[];
};

/**
 * `/debug/entities`: this node's active entities, and (unless `?scope=local`) those of
 * every live peer that publishes its HTTP address. A peer that does not answer is left
 * out (and logged): the list is a best-effort snapshot, not a consensus.
 */
function entitiesRoute(node: RunnerNode, listPeer: PeerLister, onPeerError: (peer: string, err: unknown) => void): Route {
  return {
    method: 'GET',
    path: '/debug/entities',
    body: 'ignored',
    handle: async (r) => {
      const rows = localEntities(node);
      if (r.query.get('scope') === 'local') return rows;
      const peers = node.members().filter((m) => m.nodeId !== node.nodeId && m.state === 'alive' && m.tags[HTTP_TAG] !== undefined);
      const lists = await Promise.all(
        peers.map((m) =>
          listPeer(m.tags[HTTP_TAG]!, r.signal).catch((err: unknown) => {
            onPeerError(m.nodeId, err);
            return [];
          }),
        ),
      );
      return rows.concat(...lists).sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id));
    },
  };
}

/** Options of `runnerRoutes`. */
export interface RunnerRoutesOptions {
  /** This runner's HTTP address as peers reach it (shown by `/health`). */
  readonly httpAddress: string;
  readonly listPeer?: PeerLister;
  readonly onPeerError?: (peer: string, err: unknown) => void;
}

/** Every route of the runner's API, bound to `node`. */
export function runnerRoutes(node: RunnerNode, options: RunnerRoutesOptions): Route[] {
  return [
    ...counterRoutes(node),
    ...kvRoutes(node),
    ...extraRoutes(node),
    healthRoute(node, options.httpAddress),
    shardsRoute(node),
    entitiesRoute(node, options.listPeer ?? fetchPeerEntities, options.onPeerError ?? (() => undefined)),
    ...durableRoutes(node, DURABLE_FIXTURES.failing),
  ];
}
