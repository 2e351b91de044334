/**
 * The runner's configuration, read from the environment exactly as the cluster-tests
 * API spec lists it (plus a few runner extras), checked once at start so a bad value
 * fails loudly before anything binds.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { DEV_ADMIN_TOKEN, FlotillaError } from 'flotilla';

/** Log levels the runner accepts in `LOG_LEVEL` (pino's). */
export const RUNNER_LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** One of `RUNNER_LOG_LEVELS`. */
export type RunnerLogLevel = (typeof RUNNER_LOG_LEVELS)[number];

/** Defaults of every optional setting. */
export const RUNNER_DEFAULTS = Object.freeze({
  /** HTTP API address outside a container. */
  listenAddr: '127.0.0.1:8080',
  /** HTTP API address inside a container, where the API must be reachable from outside. */
  listenAddrContainer: '0.0.0.0:8080',
  /** This runner's cluster address (UDP and TCP). */
  runnerAddress: '127.0.0.1:7946',
  /** Data directory holding the shared SQLite file `flotilla.db`. */
  dataDir: '.flotilla-dev',
  logLevel: 'info' as RunnerLogLevel,
  /**
   * Deadline of one HTTP request, in ms. Above the entity call deadline plus a failover,
   * so a call that rides out an owner's crash still answers; below curl's patience.
   */
  requestTimeoutMs: 45_000,
  /** Largest request body, in bytes: a 1 MB KV value in JSON with room to spare. */
  bodyBytesMax: 4 * 1024 * 1024,
});

/** Everything the runner needs to start. */
export interface RunnerConfig {
  /** Where the HTTP API listens. */
  readonly http: { readonly host: string; readonly port: number };
  /** Where Flotilla's admin API (health, members, partitions, entities, metrics) listens; undefined: not served. */
  readonly admin: { readonly host: string; readonly port: number } | undefined;
  /** `host:port` other runners use to reach this runner's HTTP API (published as a tag). */
  readonly httpAdvertise: string;
  /** `ip:port` the cluster sockets bind. */
  readonly clusterListen: string;
  /** Host peers use for the cluster address, when it differs from the listen host. */
  readonly clusterAdvertise: string | undefined;
  readonly seeds: readonly string[];
  readonly postgresUrl: string | undefined;
  /** Set but unused: this runner uses gossip membership only (logged at start). */
  readonly etcdEndpoints: readonly string[];
  /** TTL of the etcd lease in etcd mode, seconds (Flotilla's default when unset). */
  readonly etcdLeaseTtlSec: number | undefined;
  /** Key prefix of this cluster in etcd (Flotilla's default, `/flotilla/<clusterId>/`, when unset). */
  readonly etcdPrefix: string | undefined;
  readonly logLevel: RunnerLogLevel;
  /** Cluster secret; undefined means dev mode (public secret, loud warning). */
  readonly secret: string | undefined;
  /** Bearer token of the admin API (`FLOTILLA_ADMIN_TOKEN`); in dev mode without one, the public dev token. */
  readonly adminToken: string | undefined;
  /** Data directory: `<dataDir>/flotilla.db` when SQLite, `<dataDir>/<nodeId>/` for node files. */
  readonly dataDir: string;
  /**
   * Form a cluster even when the data directory says this runner was a member before
   * (`FORCE_FORM=1`). The local launcher sets it on its first runner, which it starts
   * alone and waits for, so a second `npm start` over the same directory does not wait
   * for peers that are started only after it.
   */
  readonly forceForm: boolean;
  readonly nodeId: string | undefined;
  /** Idle time before an entity is passivated, ms; undefined keeps Flotilla's default. */
  readonly passivateAfterMs: number | undefined;
  readonly requestTimeoutMs: number;
  readonly bodyBytesMax: number;
  /** SWIM timing overrides (`SWIM_OVERRIDES=probeIntervalMs=500,suspicionMult=2`); Flotilla checks the names. */
  readonly swim: Readonly<Record<string, number>>;
}

/** The environment as a plain map (`process.env` fits). */
export type Env = Readonly<Record<string, string | undefined>>;

function invalid(detail: string): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail);
}

/** True inside a Docker or Podman container. */
export function detectContainer(env: Env): boolean {
  return env.container !== undefined || existsSync('/.dockerenv') || existsSync('/run/.containerenv');
}

/** Splits `host:port` (or `[v6]:port`); throws FLO_CONFIG_INVALID naming `variable`. */
export function parseHostPort(variable: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65_535)) throw invalid(`${variable}=${JSON.stringify(value)}: expected "host:port"`);
  return { host: match[1] ?? match[2] ?? '', port };
}

function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function positiveInt(variable: string, value: string | undefined): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(`${variable}=${JSON.stringify(value)}: expected a positive integer`);
  return n;
}

/**
 * The cluster listen/advertise pair for `RUNNER_ADDRESS`: an IP literal is bound as is;
 * a host name (a container's service name) is advertised while binding every interface.
 */
function clusterAddresses(value: string): { listen: string; advertise: string | undefined } {
  const { host, port } = parseHostPort('RUNNER_ADDRESS', value);
  if (isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::') return { listen: formatHostPort(host, port), advertise: undefined };
  if (isIP(host) !== 0) throw invalid(`RUNNER_ADDRESS=${value}: give the address peers use, not a wildcard`);
  return { listen: `0.0.0.0:${port}`, advertise: host };
}

/** The HTTP address peers can use: the listen address, unless it is a wildcard. */
function httpAdvertiseOf(env: Env, http: { host: string; port: number }, clusterHost: string): string {
  const given = nonEmpty(env.HTTP_ADVERTISE);
  if (given !== undefined) {
    parseHostPort('HTTP_ADVERTISE', given);
    return given;
  }
  const wildcard = http.host === '0.0.0.0' || http.host === '::';
  return formatHostPort(wildcard ? clusterHost : http.host, http.port);
}

/** `key=number,...` as an object; names are left to Flotilla's own check. */
function swimOverrides(value: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of list(value)) {
    const [key, text, extra] = pair.split('=');
    const n = Number(text);
    if (key === undefined || key === '' || extra !== undefined || text === undefined || text === '' || !Number.isFinite(n)) {
      throw invalid(`SWIM_OVERRIDES: ${JSON.stringify(pair)} is not name=number`);
    }
    out[key.trim()] = n;
  }
  return out;
}

/** Reads and checks the runner's settings from `env`. */
export function loadRunnerConfig(env: Env, inContainer = detectContainer(env)): RunnerConfig {
  const listenAddr = nonEmpty(env.LISTEN_ADDR) ?? (inContainer ? RUNNER_DEFAULTS.listenAddrContainer : RUNNER_DEFAULTS.listenAddr);
  const http = parseHostPort('LISTEN_ADDR', listenAddr);
  const runnerAddress = nonEmpty(env.RUNNER_ADDRESS) ?? RUNNER_DEFAULTS.runnerAddress;
  const cluster = clusterAddresses(runnerAddress);
  const seeds = list(env.SEEDS);
  for (const seed of seeds) parseHostPort('SEEDS', seed);
  const logLevel = nonEmpty(env.LOG_LEVEL) ?? RUNNER_DEFAULTS.logLevel;
  if (!(RUNNER_LOG_LEVELS as readonly string[]).includes(logLevel)) throw invalid(`LOG_LEVEL=${logLevel}: expected one of ${RUNNER_LOG_LEVELS.join(', ')}`);
  const postgresUrl = nonEmpty(env.POSTGRES_URL);
  if (postgresUrl !== undefined && !/^postgres(ql)?:\/\//.test(postgresUrl)) throw invalid('POSTGRES_URL must start with postgres:// or postgresql://');
  const adminAddr = nonEmpty(env.ADMIN_ADDR);
  return Object.freeze({
    http,
    admin: adminAddr === undefined ? undefined : parseHostPort('ADMIN_ADDR', adminAddr),
    httpAdvertise: httpAdvertiseOf(env, http, parseHostPort('RUNNER_ADDRESS', runnerAddress).host),
    clusterListen: cluster.listen,
    clusterAdvertise: cluster.advertise,
    seeds,
    postgresUrl,
    etcdEndpoints: list(env.ETCD_ENDPOINTS),
    etcdLeaseTtlSec: positiveInt('ETCD_LEASE_TTL_SEC', env.ETCD_LEASE_TTL_SEC),
    etcdPrefix: nonEmpty(env.ETCD_PREFIX),
    logLevel: logLevel as RunnerLogLevel,
    secret: nonEmpty(env.FLOTILLA_SECRET),
    adminToken: adminTokenOf(env, adminAddr !== undefined),
    dataDir: nonEmpty(env.DATA_DIR) ?? RUNNER_DEFAULTS.dataDir,
    forceForm: env.FORCE_FORM === '1' || env.FORCE_FORM === 'true',
    nodeId: nonEmpty(env.NODE_ID),
    passivateAfterMs: positiveInt('ENTITY_PASSIVATE_AFTER_MS', env.ENTITY_PASSIVATE_AFTER_MS),
    requestTimeoutMs: positiveInt('REQUEST_TIMEOUT_MS', env.REQUEST_TIMEOUT_MS) ?? RUNNER_DEFAULTS.requestTimeoutMs,
    bodyBytesMax: RUNNER_DEFAULTS.bodyBytesMax,
    swim: swimOverrides(env.SWIM_OVERRIDES),
  });
}

/**
 * The admin API's token: FLOTILLA_ADMIN_TOKEN, or in dev mode (no FLOTILLA_SECRET) the
 * public dev token; a runner with a secret and an admin API but no token is refused.
 */
function adminTokenOf(env: Env, serving: boolean): string | undefined {
  const token = nonEmpty(env.FLOTILLA_ADMIN_TOKEN);
  if (token !== undefined || !serving) return token;
  if (nonEmpty(env.FLOTILLA_SECRET) === undefined) return DEV_ADMIN_TOKEN;
  throw invalid('ADMIN_ADDR is set: give the admin API a token with FLOTILLA_ADMIN_TOKEN (make one with `openssl rand -base64 32`)');
}

/** The SQLite file of a runner cluster that shares `dataDir`. */
export function sqlitePath(config: RunnerConfig): string {
  return join(config.dataDir, 'flotilla.db');
}
