/**
 * What every admin route is made of: the route shape, its context and answer, the JSON
 * answer helper and query-parameter parsing. Kept apart from the route table so route
 * files can share it without importing each other.
 */
import { FlotillaError } from '../core/errors.js';
import type { AdminSource } from './admin-source.js';
import type { AdminMetrics } from './metrics.js';

/** What a route answers. */
export interface RouteResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** More response headers (the dashboard's security headers); JSON answers need none. */
  readonly headers?: Readonly<Record<string, string>>;
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

/** A JSON response. */
export function json(status: number, value: unknown): RouteResponse {
  return { status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value) };
}

/**
 * The value of query parameter `name`, or undefined when absent. Throws
 * `FLO_INVALID_ARGUMENT` when it is given more than once or empty.
 */
export function singleParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new FlotillaError('FLO_INVALID_ARGUMENT', `query parameter "${name}" given more than once`, { parameter: name });
  const value = values[0]!;
  if (value === '') throw new FlotillaError('FLO_INVALID_ARGUMENT', `query parameter "${name}" is empty`, { parameter: name });
  return value;
}
