/**
 * `flotilla start`: runs one node in this process, with the admin HTTP API when asked,
 * until SIGINT or SIGTERM, which make it leave the cluster gracefully (a second signal
 * exits at once). Flags fall back to environment variables, so the same image runs
 * from a compose file or a shell.
 */
import { isFlotillaError } from '../core/errors.js';
import { DEV_ADMIN_TOKEN, startAdminServer, type AdminServer } from '../gateway/index.js';
import { isLogLevel } from '../node/node-logger.js';
import { createJsonLogger } from '../node/json-logger.js';
import type { Logger } from '../core/logger.js';
import { DEV_SECRET, resolveNodeConfig, type StartNodeOptions } from '../node/node-config.js';
import { startNode } from '../node/start-node.js';
import type { FlotillaNode } from '../node/node-api.js';
import { toAdminSource } from './admin-source.js';
import { DEV_JWT_SECRET, planClientGateway, type ClientGatewayPlan } from './client-gateway-plan.js';
import { serveClients } from './serve-clients.js';
import type { ClientGateway } from '../gateway/client-gateway.js';
import type { ClientGatewayStats } from '../gateway/client-gateway-stats.js';
import { SECRET_GENERATOR, weakSecretReason } from './secret-strength.js';
import type { TlsMaterial } from '../transport/index.js';
import { watchLoad, type LoadWatch, type OptimizeFor } from './v8-profile.js';
import { loadTlsFlags, oneLine, parseEtcdEndpoints, parseHttpAddress, parseKvOverrides, parsePostgresUrl, parseSeedList, parseSwimOverrides, parseTagList, UsageError, USAGE_EXIT_CODE } from './cli-options.js';

/** The flags of `flotilla start`, after commander applied the environment fallbacks. */
export interface StartFlags {
  readonly listen?: string;
  readonly seeds?: string;
  readonly advertise?: string;
  readonly http?: string;
  readonly data?: string;
  readonly secret?: string;
  /** The previous cluster secret, accepted inbound during a rotation. */
  readonly secretPrevious?: string;
  readonly tags?: string;
  readonly logLevel?: string;
  readonly nodeId?: string;
  readonly clusterId?: string;
  readonly dev?: boolean;
  readonly swim?: string;
  readonly kv?: string;
  /** PEM files of mutual TLS (cluster TCP) and HTTPS (admin API); all three or none. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCa?: string;
  /** PostgreSQL URL of the node's storage. */
  readonly postgres?: string;
  /** etcd endpoints, comma-separated: etcd mode (registry, lease, partition locks). */
  readonly etcd?: string;
  /** TTL of the etcd lease, seconds. */
  readonly etcdLeaseTtl?: string;
  /** Bearer token of the admin API (required with `--http` outside dev mode). */
  readonly adminToken?: string;
  /** Comma-separated host names the admin API accepts in Host headers, besides its IP and localhost. */
  readonly adminHosts?: string;
  /** Form a new cluster even though the data directory says this node was a member (`forceForm`). */
  readonly forceForm?: boolean;
  /** Where the client gateway listens (`[host:]port`); none: no gateway. */
  readonly client?: string;
  /** URL clients reach the gateway at, when not the bound address (behind NAT or a proxy). */
  readonly clientAdvertise?: string;
  /** HS256 secret of client JWTs. */
  readonly jwtSecret?: string;
  /** JWKS URL of client JWTs (RS256 / ES256). */
  readonly jwksUrl?: string;
  /** False (`--no-advertise-check`): do not dial the advertised address at start. */
  readonly advertiseCheck?: boolean;
  /** The V8 profile the entry point applied; `auto` is watched here. */
  readonly optimizeFor?: OptimizeFor;
}

/** How the admin API is protected. */
export interface AdminAccessPlan {
  readonly token: string;
  /** True when the public dev token stands in for a missing one (dev mode only). */
  readonly devToken: boolean;
  readonly allowedHosts: readonly string[];
}

/** Storage chosen on the command line (`--postgres`). */
export interface PostgresStorageChoice {
  readonly kind: 'postgres';
  readonly url: string;
}

/** What `flotilla start` will run. */
export interface StartPlan {
  readonly options: StartNodeOptions;
  readonly http: { readonly host: string; readonly port: number } | undefined;
  /** The admin API's token and allowed hosts, when `http` is set. */
  readonly admin: AdminAccessPlan | undefined;
  /** TLS material for the cluster transport and the admin API, when the TLS flags are given. */
  readonly tls: TlsMaterial | undefined;
  /** PostgreSQL storage, when `--postgres` is given; also in `options.storage`. */
  readonly storage: PostgresStorageChoice | undefined;
  /** Whether and how the client gateway runs. */
  readonly client: ClientGatewayPlan;
}

/** Public values a real cluster must never use as its secret or admin token. */
const PUBLISHED_DEV_VALUES: readonly string[] = [DEV_SECRET, DEV_ADMIN_TOKEN];

/** Deadline of one admin API request, in ms. */
export const ADMIN_REQUEST_TIMEOUT_MS = 5_000;

/** Exit status when the node could not join (no seed, refused, wrong secret). */
export const JOIN_FAILED_EXIT_CODE = 1;

/** Exit status after a second signal cut the graceful leave short (128 + SIGINT). */
export const FORCED_EXIT_CODE = 130;

/** Turns flags into node options; every mistake is a `UsageError`. */
export function planStart(flags: StartFlags): StartPlan {
  if (flags.logLevel !== undefined && !isLogLevel(flags.logLevel)) {
    throw new UsageError(`--log-level: ${JSON.stringify(flags.logLevel)} is not one of silent, fatal, error, warn, info, debug, trace`);
  }
  const options: StartNodeOptions = {
    ...(flags.nodeId === undefined ? {} : { nodeId: flags.nodeId }),
    ...(flags.listen === undefined ? {} : { listen: flags.listen }),
    ...(flags.advertise === undefined || flags.advertise === '' ? {} : { advertise: flags.advertise }),
    ...(flags.seeds === undefined ? {} : { seeds: parseSeedList(flags.seeds) }),
    ...(flags.clusterId === undefined ? {} : { clusterId: flags.clusterId }),
    ...(flags.secret === undefined || flags.secret === '' ? {} : { secret: flags.secret }),
    ...(flags.secretPrevious === undefined || flags.secretPrevious === '' ? {} : { secretPrevious: flags.secretPrevious }),
    ...(flags.dev === true ? { dev: true } : {}),
    ...(flags.tags === undefined ? {} : { tags: parseTagList(flags.tags) }),
    ...(flags.data === undefined ? {} : { dataDir: flags.data }),
    ...(flags.forceForm === true ? { forceForm: true } : {}),
    ...(flags.advertiseCheck === false ? { advertiseCheck: false } : {}),
    ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
    ...(flags.swim === undefined ? {} : { swim: parseSwimOverrides(flags.swim) }),
    ...(flags.kv === undefined || flags.kv === '' ? {} : { kv: parseKvOverrides(flags.kv) }),
    ...(flags.etcd === undefined || flags.etcd === '' ? {} : { etcd: { endpoints: parseEtcdEndpoints(flags.etcd), ...leaseTtlOf(flags.etcdLeaseTtl) } }),
  };
  if (flags.dev !== true && flags.secret !== undefined && flags.secret !== '') {
    const weak = weakSecretReason(flags.secret, PUBLISHED_DEV_VALUES);
    if (weak !== undefined) throw new UsageError(`--secret (FLOTILLA_SECRET): ${weak}`);
  }
  if (flags.secretPrevious !== undefined && flags.secretPrevious !== '') {
    const weak = weakSecretReason(flags.secretPrevious, PUBLISHED_DEV_VALUES);
    if (weak !== undefined) throw new UsageError(`--secret-previous (FLOTILLA_SECRET_PREVIOUS): ${weak}`);
  }
  const tls = loadTlsFlags(flags);
  const storage: PostgresStorageChoice | undefined =
    flags.postgres === undefined || flags.postgres === '' ? undefined : { kind: 'postgres', url: parsePostgresUrl(flags.postgres) };
  const withExtras: StartNodeOptions = {
    ...options,
    ...(tls === undefined ? {} : { transport: { tls } }),
    ...(storage === undefined ? {} : { storage }),
  };
  try {
    resolveNodeConfig(withExtras);
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
  const http = flags.http === undefined || flags.http === '' ? undefined : parseHttpAddress(flags.http);
  const client = planClientGateway(flags);
  return { options: withExtras, http, admin: http === undefined ? undefined : planAdminAccess(flags), tls, storage, client };
}

/**
 * The admin API's token: `--admin-token` (or FLOTILLA_ADMIN_TOKEN), held to the same
 * strength as the cluster secret; in dev mode without one, the public dev token.
 */
function planAdminAccess(flags: StartFlags): AdminAccessPlan {
  const allowedHosts = (flags.adminHosts ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const given = flags.adminToken ?? '';
  if (given === '') {
    if (flags.dev === true) return { token: DEV_ADMIN_TOKEN, devToken: true, allowedHosts };
    throw new UsageError(`--http needs an admin token: set FLOTILLA_ADMIN_TOKEN (or --admin-token); make one with \`${SECRET_GENERATOR}\``);
  }
  if (flags.dev !== true) {
    const weak = weakSecretReason(given, PUBLISHED_DEV_VALUES);
    if (weak !== undefined) throw new UsageError(`--admin-token (FLOTILLA_ADMIN_TOKEN): ${weak.replace('the cluster secret', 'the admin token')}`);
  }
  return { token: given, devToken: false, allowedHosts };
}

/** Prints one line to stderr. */
function fail(line: string): void {
  process.stderr.write(`flotilla start: ${line}\n`);
}

/**
 * Runs `flotilla start` until the node has left (after a signal) and returns the exit
 * status: 0 after a graceful leave, 1 when joining failed, 2 for bad flags or an address
 * that cannot be bound, 130 when a second signal forced the exit.
 */
export async function runStart(flags: StartFlags): Promise<number> {
  let plan: StartPlan;
  try {
    plan = planStart(flags);
  } catch (err) {
    fail(oneLine(err));
    return USAGE_EXIT_CODE;
  }
  // One logger for the node and the admin server; the node binds its id to its lines.
  const log = createJsonLogger({ level: plan.options.logLevel ?? 'info' });
  // Signals are caught from the start: a SIGTERM while the node is still joining stops it
  // cleanly (exit 0) instead of killing the process mid-join.
  const signals = new ShutdownSignals();
  let admin: AdminServer | undefined;
  let adminFailed = false;
  // Starts after the join; the admin API (up before it) reads it for /metrics once it runs.
  let gateway: ClientGateway | undefined;
  let joining: FlotillaNode | undefined;
  signals.onFirst(() => void joining?.stop());
  // The admin API listens before the join, so `/health` says 503 `joining` (with why)
  // instead of refusing connections, and never 200 before this node is in its cluster.
  const onJoining = async (node: FlotillaNode): Promise<void> => {
    joining = node;
    if (plan.http === undefined) return;
    try {
      admin = await serveAdmin(plan, node, log, () => gateway?.stats());
    } catch (err) {
      adminFailed = true;
      throw new Error(`cannot serve the admin API on ${plan.http.host}:${plan.http.port}: ${oneLine(err)}`);
    }
  };
  let node: FlotillaNode;
  try {
    node = await startNode({ ...plan.options, logger: log, onJoining });
    joining = undefined;
  } catch (err) {
    await admin?.close();
    signals.dispose();
    if (signals.requests > 0) return 0;
    fail(oneLine(err));
    return adminFailed || isFlotillaError(err, 'FLO_CONFIG_INVALID') || isFlotillaError(err, 'FLO_ADVERTISE_UNREACHABLE') ? USAGE_EXIT_CODE : JOIN_FAILED_EXIT_CODE;
  }
  try {
    gateway = await startGateway(plan.client, node, log);
  } catch (err) {
    fail(oneLine(err));
    await Promise.allSettled([admin?.close(), node.stop()]);
    return USAGE_EXIT_CODE;
  }
  const watch = flags.optimizeFor === 'auto' ? watchLoad((utilization) => log.info({ nodeId: node.nodeId, utilization }, 'busy: V8 optimizing compilers on (--optimize-for auto)')) : undefined;
  return waitForShutdown(node, admin, gateway, signals, watch);
}

/** Starts the client gateway as `plan` says, or logs why there is none. */
async function startGateway(plan: ClientGatewayPlan, node: FlotillaNode, log: Logger): Promise<ClientGateway | undefined> {
  const gatewayLog = log.child({ nodeId: node.nodeId, component: 'client-gateway' });
  if (!plan.serve) {
    gatewayLog.warn({ reason: plan.reason }, 'client gateway off');
    return undefined;
  }
  const gateway = await serveClients(node, { host: plan.host, port: plan.port, auth: plan.auth, logger: gatewayLog, ...(plan.advertiseUrl === undefined ? {} : { advertiseUrl: plan.advertiseUrl }) });
  if (plan.devSecret) {
    gatewayLog.warn({ jwtSecret: DEV_JWT_SECRET }, 'DEV MODE: the client gateway accepts tokens signed with the PUBLIC dev JWT secret; anyone can mint one. Never use dev mode for a real cluster.');
  }
  gatewayLog.info({ url: gateway.url }, 'client gateway listening');
  return gateway;
}

/** Serves the admin API of `node` as `plan` says. */
async function serveAdmin(plan: StartPlan, node: FlotillaNode, log: Logger, clients: () => ClientGatewayStats | undefined): Promise<AdminServer> {
  const http = plan.http!;
  const adminLog = log.child({ nodeId: node.nodeId, component: 'admin' });
  // One node per process here, so the process metrics (CPU, RSS, heap) describe
  // exactly this node.
  const admin = await startAdminServer({
    source: toAdminSource(node, clients),
    host: http.host,
    port: http.port,
    requestTimeoutMs: ADMIN_REQUEST_TIMEOUT_MS,
    token: plan.admin?.token,
    allowedHosts: plan.admin?.allowedHosts,
    logger: adminLog,
    processMetrics: true,
    ...(plan.tls === undefined ? {} : { tls: { cert: plan.tls.cert, key: plan.tls.key } }),
  });
  const bound = admin.address();
  if (plan.admin?.devToken === true) {
    adminLog.warn({ adminToken: DEV_ADMIN_TOKEN }, 'DEV MODE: the admin API accepts the public dev token; anyone on this machine can read and write through it. Never use dev mode for a real cluster.');
  }
  adminLog.info({ url: `${admin.protocol}://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}` }, 'admin API listening');
  return admin;
}

/**
 * Resolves with the exit status once a signal (or, for `flotilla dev` children, the end
 * of stdin) made the node leave; a second signal stops it at once.
 */
function waitForShutdown(node: FlotillaNode, admin: AdminServer | undefined, gateway: ClientGateway | undefined, signals: ShutdownSignals, watch: LoadWatch | undefined): Promise<number> {
  return new Promise((resolve) => {
    const shutdown = (requests: number): void => {
      watch?.stop();
      if (requests === 1) {
        void Promise.allSettled([admin?.close(), gateway?.close(), node.leave()]).then(() => resolve(0));
      } else if (requests === 2) {
        void node.stop().finally(() => resolve(FORCED_EXIT_CODE));
      }
    };
    signals.onEach(shutdown);
    if (process.env.FLOTILLA_STOP_ON_STDIN_END === '1') {
      // A `flotilla dev` parent that dies without signalling still ends our stdin.
      const end = (): void => signals.request();
      process.stdin.on('end', end);
      process.stdin.on('error', end);
      process.stdin.resume();
    }
  });
}

/** SIGINT and SIGTERM, counted from the moment the command starts; handlers see each request. */
class ShutdownSignals {
  requests = 0;
  private readonly handlers: ((requests: number) => void)[] = [];
  private readonly onSignal = (): void => this.request();

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  request(): void {
    this.requests++;
    for (const handler of this.handlers) handler(this.requests);
  }

  /** `fn` runs on every request from now on, and at once for those already made. */
  onEach(fn: (requests: number) => void): void {
    this.handlers.push(fn);
    for (let i = 1; i <= this.requests; i++) fn(i);
  }

  /** `fn` runs on the first request (at once if one was made). */
  onFirst(fn: () => void): void {
    this.onEach((requests) => {
      if (requests === 1) fn();
    });
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/** `--etcd-lease-ttl`: whole seconds, checked further by the etcd settings. */
function leaseTtlOf(text: string | undefined): { leaseTtlSec?: number } {
  if (text === undefined || text === '') return {};
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`--etcd-lease-ttl: expected whole seconds, got ${JSON.stringify(text)}`);
  return { leaseTtlSec: Number(text) };
}
