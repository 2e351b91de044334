/**
 * Configuration of the HTTP admin server: where it binds and the limits that keep a slow
 * or hostile client from holding it. One defaults object; `resolveAdminConfig` fills and
 * checks it once, at construction.
 */
import { isIP } from 'node:net';
import { FlotillaError } from '../core/errors.js';
import { ADMIN_TOKEN_CHARS_MIN } from './admin-access.js';

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
   * Most simultaneous connections. Default 64: plenty for a scraper, a CLI and a
   * dashboard, while a connection flood cannot exhaust descriptors. At the limit a new
   * connection closes the oldest one that is not serving a request (idle, or still sending
   * its headers) rather than being refused, so idle or slow clients cannot hold every slot.
   */
  readonly connectionsMax: number;
  /**
   * Most simultaneous connections from one remote address. Default 16; past it the
   * address's own oldest connection not serving a request is closed. Keeps one host from
   * taking every slot; a dashboard behind a proxy that fans many users into one address
   * may need more.
   */
  readonly connectionsPerAddressMax: number;
  /**
   * Longest a client may take to send a request's headers, in ms. Default 3,000: a real
   * client sends them in one packet, a slowloris client dribbles them to hold a socket.
   * At most `requestTimeoutMs` (and cut down to it when left at the default).
   */
  readonly headersTimeoutMs: number;
  /**
   * An idle keep-alive connection is closed after this long, in ms. Default 2,000: long
   * enough for a scraper or the CLI to reuse it for its next request.
   */
  readonly idleTimeoutMs: number;
  /**
   * The admin token: every route but `/health` and the `/dashboard` page (and `/metrics`
   * while `metricsPublic`) needs `Authorization: Bearer <token>`. At least 32 characters (`ADMIN_TOKEN_CHARS_MIN`).
   * Required unless `allowUnauthenticated`; `flotilla start` reads it from
   * `FLOTILLA_ADMIN_TOKEN` or `--admin-token`.
   */
  readonly token: string | undefined;
  /**
   * Serve every route without a token. Default false. Only for a server nothing but this
   * process can reach (tests); anyone who reaches an unauthenticated admin API can read
   * and write the cluster's data.
   */
  readonly allowUnauthenticated: boolean;
  /**
   * Serve `/metrics` without the token. Default true, so a Prometheus scraper needs no
   * credentials; the metrics are counts and timings, never keys or values. Set false to
   * require the token there too (Prometheus: `authorization: { credentials: ... }`).
   */
  readonly metricsPublic: boolean;
  /**
   * Host names, besides the bound IP and localhost, that clients may put in the Host
   * header (e.g. the node's DNS name). Default none. Any other name is refused with 403:
   * that is what stops a web page from reaching the API through DNS rebinding.
   */
  readonly allowedHosts: readonly string[];
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
  connectionsPerAddressMax: 16,
  headersTimeoutMs: 3_000,
  idleTimeoutMs: 2_000,
  token: undefined,
  allowUnauthenticated: false,
  metricsPublic: true,
  allowedHosts: [],
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
  const given = stripUndefined(overrides);
  const config: AdminServerConfig = { ...DEFAULT_ADMIN_CONFIG, ...given };
  if (given.headersTimeoutMs === undefined && Number.isInteger(config.requestTimeoutMs) && config.requestTimeoutMs < config.headersTimeoutMs) {
    // A short request deadline (tests, a hurried probe) shortens the default header deadline with it.
    (config as { headersTimeoutMs: number }).headersTimeoutMs = Math.max(1, config.requestTimeoutMs);
  }
  if (typeof config.host !== 'string' || !isBindableHost(config.host)) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `host must be an IP address or "localhost", got ${JSON.stringify(config.host)}`);
  }
  checkInteger('port', config.port, 0, 65_535);
  checkInteger('requestTimeoutMs', config.requestTimeoutMs, 1, ADMIN_REQUEST_TIMEOUT_MS_MAX);
  checkInteger('bodyBytesMax', config.bodyBytesMax, 0, ADMIN_BODY_BYTES_MAX);
  checkInteger('connectionsMax', config.connectionsMax, 1, ADMIN_CONNECTIONS_MAX);
  checkInteger('connectionsPerAddressMax', config.connectionsPerAddressMax, 1, config.connectionsMax);
  checkInteger('headersTimeoutMs', config.headersTimeoutMs, 1, config.requestTimeoutMs);
  checkInteger('idleTimeoutMs', config.idleTimeoutMs, 1, ADMIN_REQUEST_TIMEOUT_MS_MAX);
  checkAccess(config);
  return { ...config, allowedHosts: config.allowedHosts.map((h) => h.trim().toLowerCase()) };
}

function checkAccess(config: AdminServerConfig): void {
  if (config.token !== undefined && (typeof config.token !== 'string' || [...config.token].length < ADMIN_TOKEN_CHARS_MIN || /\s/.test(config.token))) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `the admin token must be at least ${ADMIN_TOKEN_CHARS_MIN} characters without spaces (make one with \`openssl rand -base64 32\`)`);
  }
  if (config.token === undefined && config.allowUnauthenticated !== true) {
    throw new FlotillaError(
      'FLO_CONFIG_INVALID',
      'the admin API needs a token (FLOTILLA_ADMIN_TOKEN, --admin-token, or the token option); allowUnauthenticated: true serves it without one, for tests only',
    );
  }
  if (!Array.isArray(config.allowedHosts) || !config.allowedHosts.every((h) => typeof h === 'string' && h.trim() !== '')) {
    throw new FlotillaError('FLO_CONFIG_INVALID', 'allowedHosts must be an array of host names');
  }
}

function stripUndefined<T extends object>(value: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
