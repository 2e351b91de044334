/**
 * Configuration of the HTTP admin server: where it binds and the limits that keep a slow
 * or hostile client from holding it. One defaults object; `resolveAdminConfig` fills and
 * checks it once, at construction.
 */
import { isIP } from 'node:net';
import { FlotillaError } from '../core/errors.js';

/** Settings of one admin server. */
export interface AdminServerConfig {
  /**
   * Interface to bind: an IPv4 or IPv6 literal, or `localhost`. Default `127.0.0.1`, so
   * the API (which exposes cluster topology) is reachable only from the host unless an
   * operator opens it deliberately, e.g. with `0.0.0.0`.
   */
  readonly host: string;
  /** TCP port; 0 lets the OS pick one (read it back with `address()`). Default 9180. */
  readonly port: number;
  /**
   * Deadline for one request, from its arrival to the end of the response, in ms.
   * Default 5,000. A request still open at the deadline gets 504 (or its socket is
   * destroyed if the response had begun). Shorter frees sockets from slow clients sooner;
   * too short fails scrapes on a busy event loop.
   */
  readonly requestTimeoutMs: number;
  /**
   * Largest request body accepted, in bytes. Default 0: every admin route is a GET and
   * takes no body. A larger body is refused with 413 without being read past this limit.
   */
  readonly bodyBytesMax: number;
  /**
   * Most simultaneous connections; more are refused by the server. Default 64: plenty for
   * a scraper, a CLI and a dashboard, while a connection flood cannot exhaust descriptors.
   */
  readonly connectionsMax: number;
  /**
   * Also export process metrics under prom-client's names (`process_cpu_*`,
   * `process_resident_memory_bytes`, `nodejs_heap_*`), read at scrape time. Default false:
   * they describe the whole process, so in a process hosting several nodes each server
   * would repeat the same values under its own `node_id`.
   */
  readonly processMetrics: boolean;
}

/** Defaults for every field of `AdminServerConfig`. */
export const DEFAULT_ADMIN_CONFIG: AdminServerConfig = {
  host: '127.0.0.1',
  port: 9180,
  requestTimeoutMs: 5_000,
  bodyBytesMax: 0,
  connectionsMax: 64,
  processMetrics: false,
};

/** Upper bound on `requestTimeoutMs`: an admin request that needs longer is a bug. */
export const ADMIN_REQUEST_TIMEOUT_MS_MAX = 300_000;
/** Upper bound on `bodyBytesMax`. */
export const ADMIN_BODY_BYTES_MAX = 1_048_576;
/** Upper bound on `connectionsMax`. */
export const ADMIN_CONNECTIONS_MAX = 10_000;

/** True when `host` is something the admin server may bind: an IP literal or `localhost`. */
export function isBindableHost(host: string): boolean {
  return host === 'localhost' || isIP(host) !== 0;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Fills defaults and checks every field; throws `FLO_CONFIG_INVALID` on a bad value. */
export function resolveAdminConfig(overrides: Partial<AdminServerConfig> = {}): AdminServerConfig {
  const config: AdminServerConfig = { ...DEFAULT_ADMIN_CONFIG, ...stripUndefined(overrides) };
  if (typeof config.host !== 'string' || !isBindableHost(config.host)) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `host must be an IP address or "localhost", got ${JSON.stringify(config.host)}`);
  }
  checkInteger('port', config.port, 0, 65_535);
  checkInteger('requestTimeoutMs', config.requestTimeoutMs, 1, ADMIN_REQUEST_TIMEOUT_MS_MAX);
  checkInteger('bodyBytesMax', config.bodyBytesMax, 0, ADMIN_BODY_BYTES_MAX);
  checkInteger('connectionsMax', config.connectionsMax, 1, ADMIN_CONNECTIONS_MAX);
  return config;
}

function stripUndefined<T extends object>(value: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
