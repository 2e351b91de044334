/**
 * The admin API's routes: what each path answers, computed from an `AdminSource`. No
 * sockets here, so each route is a plain function of the source and the query string;
 * the server handles methods, bodies, deadlines and error mapping around them.
 */
import { FlotillaError } from '../core/errors.js';
import type { AdminMember, AdminPartition, AdminSource, HealthStatus, MigrationInfo } from './admin-source.js';
import type { AdminMetrics } from './metrics.js';

/** What a route answers. */
export interface RouteResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** What a route gets. */
export interface RouteContext {
  readonly source: AdminSource;
  readonly metrics: AdminMetrics;
  readonly query: URLSearchParams;
}

/** One path of the admin API. */
export interface AdminRoute {
  readonly path: string;
  /** Query parameters the route accepts; any other is refused with 400. */
  readonly queryParams: readonly string[];
  readonly handle: (ctx: RouteContext) => RouteResponse | Promise<RouteResponse>;
}

/** Content type of every JSON answer. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Health states answered with 503: the node should not receive traffic. */
export const UNAVAILABLE_HEALTH: ReadonlySet<HealthStatus> = new Set(['joining', 'leaving', 'stopped', 'unhealthy']);

/** A JSON response. */
export function json(status: number, value: unknown): RouteResponse {
  return { status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value) };
}

function health({ source }: RouteContext): RouteResponse {
  const h = source.health();
  const checks = Object.fromEntries(
    Object.entries(h.checks).map(([name, c]) => [name, c.detail === undefined ? { status: c.status } : { status: c.status, detail: c.detail }]),
  );
  return json(UNAVAILABLE_HEALTH.has(h.status) ? 503 : 200, { status: h.status, nodeId: h.nodeId, state: h.state, checks });
}

function member(m: AdminMember): AdminMember {
  return { nodeId: m.nodeId, address: m.address, state: m.state, joinVersion: m.joinVersion, incarnation: m.incarnation, tags: { ...m.tags } };
}

function members({ source }: RouteContext): RouteResponse {
  const view = source.members();
  return json(200, { version: view.version, master: view.master, members: view.members.map(member) });
}

function singleParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new FlotillaError('FLO_INVALID_ARGUMENT', `query parameter "${name}" given more than once`);
  const value = values[0]!;
  if (value === '') throw new FlotillaError('FLO_INVALID_ARGUMENT', `query parameter "${name}" is empty`);
  return value;
}

function partitionParam(query: URLSearchParams, partitionCount: number): number | undefined {
  const raw = singleParam(query, 'partition');
  if (raw === undefined) return undefined;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n < partitionCount)) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `partition must be an integer in [0, ${partitionCount}), got ${JSON.stringify(raw)}`, {
      parameter: 'partition',
    });
  }
  return n;
}

function partitions({ source, query }: RouteContext): RouteResponse {
  const table = source.partitions();
  const node = singleParam(query, 'node');
  const only = partitionParam(query, table.partitionCount);
  const rows = table.partitions
    .filter((p) => only === undefined || p.partition === only)
    .filter((p) => node === undefined || p.owner === node || p.backups.includes(node))
    .map((p): AdminPartition => ({ partition: p.partition, owner: p.owner, backups: [...p.backups], epoch: p.epoch }));
  return json(200, { version: table.version, partitionCount: table.partitionCount, partitions: rows });
}

function migration(m: MigrationInfo): MigrationInfo {
  const out: MigrationInfo = {
    id: m.id,
    partition: m.partition,
    source: m.source,
    destination: m.destination,
    role: m.role,
    state: m.state,
    startedAt: m.startedAt,
  };
  return {
    ...out,
    ...(m.finishedAt === undefined ? {} : { finishedAt: m.finishedAt }),
    ...(m.outcome === undefined ? {} : { outcome: m.outcome }),
    ...(m.reason === undefined ? {} : { reason: m.reason }),
  };
}

function migrations({ source }: RouteContext): RouteResponse {
  const report = source.migrations();
  return json(200, { inFlight: report.inFlight.map(migration), recent: report.recent.map(migration) });
}

async function metrics({ metrics }: RouteContext): Promise<RouteResponse> {
  const body = await metrics.scrape();
  return { status: 200, contentType: metrics.contentType, body };
}

/** Every admin route; each answers GET (and HEAD, with the same headers and no body). */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { path: '/health', queryParams: [], handle: health },
  { path: '/cluster/members', queryParams: [], handle: members },
  { path: '/cluster/partitions', queryParams: ['node', 'partition'], handle: partitions },
  { path: '/cluster/migrations', queryParams: [], handle: migrations },
  { path: '/metrics', queryParams: [], handle: metrics },
];

/** Methods every admin route accepts, as the `Allow` header lists them. */
export const ALLOWED_METHODS = ['GET', 'HEAD'] as const;

/** Throws `FLO_INVALID_ARGUMENT` for a query parameter the route does not take. */
export function checkQuery(route: AdminRoute, query: URLSearchParams): void {
  for (const name of new Set(query.keys())) {
    if (!route.queryParams.includes(name)) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `${route.path} takes no query parameter "${name}"`, { parameter: name });
    }
  }
}
