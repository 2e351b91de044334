/**
 * The admin API's entity routes: which entities are active on this node, per type, and
 * how many per partition. Answers are bounded (`limit`) because a node may hold a hundred
 * thousand activations, and sorted so that the same state always gives the same page.
 */
import { FlotillaError } from '../core/errors.js';
import type { AdminActiveEntity, AdminEntities } from './admin-source.js';
import { json, singleParam, type AdminRoute, type RouteContext, type RouteResponse } from './route-kit.js';

/** Entities listed by `GET /entities` when no `limit` is given. */
export const ENTITIES_LIMIT_DEFAULT = 1_000;
/** Largest `limit` `GET /entities` accepts. */
export const ENTITIES_LIMIT_MAX = 10_000;

/** Active entities of one type, as `GET /entities` reports them. */
export interface EntityTypeCount {
  readonly type: string;
  readonly active: number;
}

/** What `GET /entities` answers. */
export interface EntitiesReport {
  readonly nodeId: string;
  /** Active entities on this node (of `type`, when filtered), whatever the limit. */
  readonly active: number;
  /** Every registered or active type (only `type`, when filtered), by name. */
  readonly types: readonly EntityTypeCount[];
  /** At most `limit` entities, by type then id. */
  readonly entities: readonly AdminActiveEntity[];
  /** True when `entities` was cut at `limit`. */
  readonly truncated: boolean;
}

/** Active entities in one partition, as `GET /entities/partitions` reports them. */
export interface EntityPartitionCount {
  readonly partition: number;
  readonly active: number;
  /** Active entities in this partition by type. */
  readonly types: Readonly<Record<string, number>>;
}

/** What `GET /entities/partitions` answers. */
export interface EntityPartitionsReport {
  readonly nodeId: string;
  readonly active: number;
  /** Partitions holding at least one active entity here, ascending. */
  readonly partitions: readonly EntityPartitionCount[];
}

function hostedEntities({ source }: RouteContext): AdminEntities {
  if (source.entities === undefined) throw new FlotillaError('FLO_NOT_FOUND', 'this node hosts no entities');
  return source.entities;
}

function limitParam(query: URLSearchParams): number {
  const raw = singleParam(query, 'limit');
  if (raw === undefined) return ENTITIES_LIMIT_DEFAULT;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n <= ENTITIES_LIMIT_MAX)) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `limit must be an integer in [0, ${ENTITIES_LIMIT_MAX}], got ${JSON.stringify(raw)}`, { parameter: 'limit' });
  }
  return n;
}

/** Code-unit order, so answers do not depend on the server's locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function activeOf(entities: AdminEntities, type: string | undefined): AdminActiveEntity[] {
  const all = entities.active();
  return type === undefined ? [...all] : all.filter((e) => e.type === type);
}

function entities(ctx: RouteContext): RouteResponse {
  const hosted = hostedEntities(ctx);
  const type = singleParam(ctx.query, 'type');
  const limit = limitParam(ctx.query);
  const active = activeOf(hosted, type);
  const perType = new Map<string, number>();
  for (const t of hosted.types()) if (type === undefined || t === type) perType.set(t, 0);
  for (const e of active) perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
  const types = [...perType.entries()].sort(([a], [b]) => compareText(a, b)).map(([t, n]): EntityTypeCount => ({ type: t, active: n }));
  active.sort((a, b) => compareText(a.type, b.type) || compareText(a.id, b.id));
  const page = active.slice(0, limit).map((e): AdminActiveEntity => ({ type: e.type, id: e.id, partition: e.partition }));
  const report: EntitiesReport = { nodeId: ctx.source.nodeId, active: active.length, types, entities: page, truncated: active.length > limit };
  return json(200, report);
}

function entityPartitions(ctx: RouteContext): RouteResponse {
  const active = activeOf(hostedEntities(ctx), singleParam(ctx.query, 'type'));
  const byPartition = new Map<number, { active: number; types: Record<string, number> }>();
  for (const e of active) {
    let row = byPartition.get(e.partition);
    if (row === undefined) byPartition.set(e.partition, (row = { active: 0, types: {} }));
    row.active++;
    row.types[e.type] = (row.types[e.type] ?? 0) + 1;
  }
  const partitions = [...byPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, row]): EntityPartitionCount => ({ partition, active: row.active, types: sortedRecord(row.types) }));
  const report: EntityPartitionsReport = { nodeId: ctx.source.nodeId, active: active.length, partitions };
  return json(200, report);
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareText(a, b)));
}

/** The entity routes; each answers GET (and HEAD). */
export const ENTITY_ROUTES: readonly AdminRoute[] = [
  { path: '/entities', queryParams: ['limit', 'type'], handle: entities },
  { path: '/entities/partitions', queryParams: ['type'], handle: entityPartitions },
];
