/**
 * The admin API's routes: what each path answers, computed from an `AdminSource`. No
 * sockets here, so each route is a plain function of the source and the query string;
 * the server handles methods, bodies, deadlines and error mapping around them.
 */
import { FlotillaError } from '../core/errors.js';
import type { AdminMember, AdminPartition, HealthStatus, MigrationInfo } from './admin-source.js';
import { DASHBOARD_ROUTE } from './dashboard-page.js';
import { ENTITY_ROUTES } from './entity-routes.js';
import { memberMatches, parseMemberFilter } from './member-filter.js';
import { json, singleParam, type AdminRoute, type RouteContext, type RouteResponse } from './route-kit.js';

export { json, JSON_CONTENT_TYPE, type AdminRoute, type RouteContext, type RouteResponse } from './route-kit.js';

/** Health states answered with 503: the node should not receive traffic. */
export const UNAVAILABLE_HEALTH: ReadonlySet<HealthStatus> = new Set(['joining', 'leaving', 'stopped', 'unhealthy']);

function health({ source }: RouteContext): RouteResponse {
  const h = source.health();
  const checks = Object.fromEntries(
    Object.entries(h.checks).map(([name, c]) => [name, c.detail === undefined ? { status: c.status } : { status: c.status, detail: c.detail }]),
  );
  const reason = h.reason === undefined ? {} : { reason: h.reason };
  return json(UNAVAILABLE_HEALTH.has(h.status) ? 503 : 200, { status: h.status, nodeId: h.nodeId, state: h.state, checks, ...reason });
}

function member(m: AdminMember): AdminMember {
  return { nodeId: m.nodeId, address: m.address, state: m.state, joinVersion: m.joinVersion, incarnation: m.incarnation, tags: { ...m.tags }, clockOffsetMs: m.clockOffsetMs };
}

function members({ source, query }: RouteContext): RouteResponse {
  const filter = parseMemberFilter(query);
  const view = source.members();
  const rows = view.members.filter((m) => memberMatches(m, filter)).map(member);
  return json(200, { version: view.version, master: view.master, members: rows });
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
    perspective: m.perspective,
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

function quorum({ source }: RouteContext): RouteResponse {
  const q = source.metricsSnapshot().quorum;
  return json(200, { state: q.state, minority: q.minority, readOnly: q.readOnly, liveMembers: q.liveMembers, expectedSize: q.expectedSize });
}

async function metrics({ metrics }: RouteContext): Promise<RouteResponse> {
  const body = await metrics.scrape();
  return { status: 200, contentType: metrics.contentType, body };
}

/** Every admin route; each answers GET (and HEAD, with the same headers and no body). */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { path: '/health', queryParams: [], handle: health },
  { path: '/cluster/members', queryParams: ['tag', 'state'], handle: members },
  { path: '/cluster/partitions', queryParams: ['node', 'partition'], handle: partitions },
  { path: '/cluster/migrations', queryParams: [], handle: migrations },
  { path: '/cluster/quorum', queryParams: [], handle: quorum },
  { path: '/metrics', queryParams: [], handle: metrics },
  ...ENTITY_ROUTES,
  DASHBOARD_ROUTE,
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
