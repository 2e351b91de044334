/**
 * Connection details of the PostgreSQL store: the options it takes and their defaults,
 * the URL rewritten so every pooled connection works in the chosen schema, a description
 * safe for logs (never the password), and the mapping of driver errors to FLO_STORAGE.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { StorageOptions } from './storage.js';

/** How to open a PostgreSQL store (the fields are documented on `StorageOptions`). */
export type PostgresStorageOptions = Omit<Extract<StorageOptions, { readonly kind: 'postgres' }>, 'kind'>;

/**
 * Defaults of `PostgresStorageOptions`. `poolSize`: more connections let more batches
 * commit at once, each costs a server process. `schema` (lowercase letters, digits, `_`;
 * created when missing) lets one database hold several clusters. `connectTimeoutMs`:
 * shorter fails sooner when the server is unreachable, too short fails on a slow network.
 */
export const POSTGRES_DEFAULTS = { poolSize: 10, schema: 'public', connectTimeoutMs: 5000 } as const;

/** Most connections a pool may hold (a sanity bound: servers default to 100 in total). */
export const POOL_SIZE_MAX = 1000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Options with defaults applied and checked. */
export interface ResolvedPostgresOptions {
  readonly connectionString: string;
  readonly poolSize: number;
  readonly schema: string;
  readonly connectTimeoutMs: number;
  /** `postgres host:port/database[ schema s]`, for logs and errors. */
  readonly description: string;
}

function configInvalid(detail: string): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail);
}

/** Apply defaults, check every field, and prepare the connection string. */
export function resolvePostgresOptions(options: PostgresStorageOptions): ResolvedPostgresOptions {
  const poolSize = options.poolSize ?? POSTGRES_DEFAULTS.poolSize;
  const schema = options.schema ?? POSTGRES_DEFAULTS.schema;
  const connectTimeoutMs = options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > POOL_SIZE_MAX) {
    throw configInvalid(`poolSize must be an integer from 1 to ${POOL_SIZE_MAX}, got ${poolSize}`);
  }
  if (!SCHEMA_NAME.test(schema)) throw configInvalid(`schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}`);
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw configInvalid(`connectTimeoutMs must be a positive integer, got ${connectTimeoutMs}`);
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw configInvalid('the PostgreSQL URL is not a valid URL'); // never echo it: it may hold a password
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw configInvalid(`a PostgreSQL URL starts with postgres://, not ${url.protocol}//`);
  // Every pooled connection starts in the schema, so statements and migrations name
  // tables unqualified; an `options` parameter already in the URL is kept.
  const startup = [url.searchParams.get('options'), `-c search_path=${schema}`].filter((o) => o !== null && o !== '').join(' ');
  url.searchParams.set('options', startup);
  const host = url.hostname === '' ? (url.searchParams.get('host') ?? 'localhost') : url.hostname;
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)';
  const port = url.port === '' ? '5432' : url.port;
  const description = `postgres ${host}:${port}/${database}${schema === 'public' ? '' : ` schema ${schema}`}`;
  return { connectionString: url.toString(), poolSize, schema, connectTimeoutMs, description };
}

/** Turn what `pg` throws into FLO_STORAGE naming the server (catalogued errors pass through). */
export function postgresError(description: string, error: unknown): FlotillaError {
  if (isFlotillaError(error)) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  let message = error instanceof Error ? error.message : String(error);
  if (message === '' && error instanceof AggregateError) message = error.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  return new FlotillaError('FLO_STORAGE', `${description}: ${message}`, code === undefined ? undefined : { code });
}
