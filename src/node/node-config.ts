/**
 * The options of `startNode`: one typed object, every field with its meaning and
 * default, and one function that fills the defaults in and checks every field and
 * cross-field rule, so a node with a bad configuration fails before it opens a socket,
 * with one FLO_CONFIG_INVALID that names the option.
 */
import { randomBytes } from 'node:crypto';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { AnyEntityDefinition } from '../entities/definition.js';
import type { SingletonDefinition } from '../entities/singleton-definition.js';
import { DEFAULT_ENTITY_CONFIG, resolveEntityConfig, type EntityConfig } from '../entities/entity-config.js';
import { DEFAULT_DURABLE_CONFIG, resolveDurableConfig, type DurableConfig } from '../durable/durable-config.js';
import type { AnyWorkflowDefinition } from '../durable/workflow-definition.js';
import type { TimerKind } from '../durable/timer-kind.js';
import type { Storage, StorageOptions } from '../storage/storage.js';
import { resolveEtcd, type EtcdOptions, type ResolvedEtcd } from './etcd/etcd-config.js';
import type { Address, Tags } from '../core/model.js';
import { DEFAULT_SWIM_CONFIG, resolveSwimConfig, type SwimConfig } from '../membership/config.js';
import { validateTags } from '../membership/tags.js';
import { resolveKvConfig, type KvConfig } from '../grid/kv-config.js';
import type { MergePolicies } from '../grid/merge-policy.js';
import { resolveCoordinatorConfig, type CoordinatorConfig } from '../partitions/coordinator-config.js';
import { resolveMigrationConfig, resolveRoutingConfig, type MigrationConfig, type RoutingConfig } from '../sharding/config.js';
import type { PartitionedService } from '../sharding/service.js';
import { CLUSTER_ID_BYTES_MAX, NODE_ID_BYTES_MAX, SEEDS_MAX } from '../protocol/limits.js';
import { DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig, type TransportConfig } from '../transport/config.js';
import { resolveDriverConfig, type DriverConfig } from './driver-config.js';
import { HEALTH_TAG, type HealthCheck } from './health.js';
import { parseAdvertise, parseListen, parseSeed } from './listen-address.js';
import type { FlotillaNode } from './node-api.js';
import { isLogLevel, type LogLevel } from './node-logger.js';
import type { NodeLogger, NodeService } from './service.js';

/** Transport settings a caller may override (the address comes from `listen`/`advertise`). */
export type NodeTransportOptions = Partial<Omit<TransportConfig, 'host' | 'port' | 'advertiseHost' | 'nodeId'>>;

/** Bounds of the node's lifecycle phases, in milliseconds. */
export interface LifecycleConfig {
  /**
   * Graceful leave, phase 1: how long services may take to hand over their work (e.g.
   * migrate partitions away). Default 10,000. Longer moves more data before leaving;
   * shorter exits sooner and leaves the rest to failover.
   */
  readonly drainTimeoutMs: number;
  /**
   * Phase 2: how long to wait for the membership leave to be announced. Default 10,000;
   * at least the SWIM `leaveTimeoutMs` (5,000), which bounds the machine's own wait.
   */
  readonly leaveTimeoutMs: number;
  /** Phase 3 (and `stop()`): how long sockets and services may take to close. Default 5,000. */
  readonly closeTimeoutMs: number;
  /**
   * How often health checks run to refresh the `health` gossip tag. Default 1,000. Shorter
   * tells peers sooner; each change of the worst status costs one tag update (gossip).
   */
  readonly healthCheckIntervalMs: number;
  /**
   * At start, how long dialling the advertised address may take before the node gives up
   * with FLO_ADVERTISE_UNREACHABLE. Default 3,000. Longer tolerates a slow first hop;
   * shorter fails a wrong address sooner. Skipped when `advertiseCheck` is false.
   */
  readonly advertiseCheckTimeoutMs: number;
}

/** Options of `startNode`. Only `secret` is required (or `dev: true`). */
export interface StartNodeOptions {
  /** This node's id, unique in the cluster (1..128 bytes). Default: `node-` and 8 random hex digits. */
  readonly nodeId?: string;
  /**
   * `ip:port` to bind UDP and TCP to (one port for both). Default `127.0.0.1:7946`. Port
   * 0 lets the OS pick (read it back from `node.address`); `0.0.0.0` needs `advertise`.
   */
  readonly listen?: string;
  /** Host (or `host:port`, same port) peers use to reach this node. Default: the listen host. */
  readonly advertise?: string;
  /**
   * When `advertise` differs from the listen host, dial it once at start and fail with
   * FLO_ADVERTISE_UNREACHABLE if it does not connect (within
   * `lifecycle.advertiseCheckTimeoutMs`). Default true. Turn it off only where this host
   * cannot reach its own forwarded address (NAT without hairpin) but peers can.
   */
  readonly advertiseCheck?: boolean;
  /**
   * `host:port` of nodes to join through; may include this node. Default none: this node
   * forms a new cluster. At most 256.
   */
  readonly seeds?: readonly string[];
  /** Joins are refused across cluster ids. Default `flotilla`. */
  readonly clusterId?: string;
  /**
   * Shared secret. A joiner proves it holds it with an HMAC (the master refuses others
   * with FLO_AUTH_FAILED), and a key derived from it authenticates every cluster frame:
   * each UDP datagram carries a tag, each TCP connection opens with a challenge-response.
   * At least 16 characters. Required unless `dev` is true.
   */
  readonly secret?: string;
  /**
   * The previous cluster secret, accepted from peers (joins, TCP handshakes, datagrams)
   * but never used to send, so a cluster can move to a new secret without downtime: see
   * "Rotating the cluster secret" in docs/deployment.md. Default none. At least 16
   * characters, different from `secret`.
   */
  readonly secretPrevious?: string;
  /** Development mode: without a `secret`, use a well-known dev secret (logged loudly). Default false. */
  readonly dev?: boolean;
  /** This node's initial tags (at most 512 bytes encoded; `health` is reserved). Default none. */
  readonly tags?: Tags;
  /**
   * Directory for this node's files; created when missing. Default none (nothing on disk).
   * It holds the membership record: once this node was a member, a restart rejoins the
   * cluster through the addresses it last knew and never forms a new one on its own.
   */
  readonly dataDir?: string;
  /**
   * Start a new cluster when no seed answers even though `dataDir` says this node was a
   * member (its record is then ignored). Only for recovering after losing the whole
   * cluster: beside a running cluster it makes a second one that answers 404 for its keys
   * until a split-brain merge. Default false.
   */
  readonly forceForm?: boolean;
  /** Log level of the built-in JSON-line logger (pino's format). Default `info`. Ignored when `logger` is given. */
  readonly logLevel?: LogLevel;
  /** Your own pino-compatible logger; the node logs through a child bound to its id. */
  readonly logger?: NodeLogger;
  /** SWIM overrides (see `SwimConfig`). Default: the membership defaults. */
  readonly swim?: Partial<SwimConfig>;
  /** Transport overrides (see `TransportConfig`). */
  readonly transport?: NodeTransportOptions;
  /**
   * Partition layout and coordinator settings of the sharding layer (see
   * `CoordinatorConfig`), or `false` to host no sharding layer (membership only). Default:
   * the defaults (271 partitions, one backup).
   */
  readonly partitions?: Partial<CoordinatorConfig> | false;
  /** How routed calls retry (see `RoutingConfig`). */
  readonly routing?: Partial<RoutingConfig>;
  /** How migrations stream data (see `MigrationConfig`). */
  readonly migration?: Partial<MigrationConfig>;
  /** The map store's bounds (see `KvConfig`). */
  readonly kv?: Partial<KvConfig>;
  /**
   * Merge policies of named maps after a split-brain heal: `latest-update` (default),
   * `put-if-absent`, `pass-through` or a function `(key, existing, incoming) => value`.
   * Every node of a cluster must give the same.
   */
  readonly mapMergePolicies?: MergePolicies;
  /**
   * Partitioned services of your own, registered with the sharding layer after the
   * built-in ones (the KV store, entities). Every node of a cluster must register the same.
   */
  readonly partitionedServices?: readonly PartitionedService[];
  /** Extra services to host, started in order after the built-in ones. */
  readonly services?: readonly NodeService[];
  /** Named health checks, as `registerHealthCheck` would add them. */
  readonly healthChecks?: Readonly<Record<string, HealthCheck>>;
  /** Phase bounds of leave and stop. */
  readonly lifecycle?: Partial<LifecycleConfig>;
  /** The driver loop's batch sizes and queue bounds. */
  readonly driver?: Partial<DriverConfig>;
  /** Entity types this node hosts (made with `defineEntity`); every node of a cluster should host the same. Default none. */
  readonly entities?: readonly AnyEntityDefinition[];
  /**
   * Where entity state lives: options to open a store, or an open `Storage` (the node
   * then does not close it). Default: SQLite at `<dataDir>/flotilla.db` when `dataDir`
   * is set, else in memory. Opened only when `entities` are given or this is set.
   */
  readonly storage?: StorageOptions | Storage;
  /**
   * Cluster singletons this node may run (made with `defineSingleton`): each runs on the
   * owner of its partition only, with its record in `storage`. Every node of a cluster
   * should register the same. Default none.
   */
  readonly singletons?: readonly SingletonDefinition[];
  /** Entity runtime settings (see `EntityConfig`). */
  readonly entity?: Partial<EntityConfig>;
  /** Workflows this node runs (made with `defineWorkflow`); every node of a cluster should run the same. Default none. */
  readonly workflows?: readonly AnyWorkflowDefinition[];
  /** Kinds of durable timer this node fires; every node of a cluster should register the same. Default none. */
  readonly timerKinds?: readonly TimerKind[];
  /** Workflow and timer settings (see `DurableConfig`). */
  readonly durable?: Partial<DurableConfig>;
  /**
   * Called with the node once its services run, before it joins: e.g. to serve `/health`,
   * which answers `joining` (503, with a reason) until the join completes. The join waits
   * for the returned promise; a rejection stops the node and fails `startNode` with it.
   */
  readonly onJoining?: (node: FlotillaNode) => void | Promise<void>;
  /**
   * etcd mode: register under a lease at these endpoints, find peers there (seeds may then
   * be empty), and serve a partition's writes only while holding its lock. Default off
   * (gossip only). See docs/etcd.md.
   */
  readonly etcd?: EtcdOptions;
}

/** Secret used by `dev: true` nodes without one: public, so never for a real cluster. */
export const DEV_SECRET = 'flotilla-dev-secret-do-not-use-in-production';

/** Shortest secret accepted, in characters. */
export const SECRET_CHARS_MIN = 16;

/** Defaults of every optional `StartNodeOptions` field that has one. */
export const DEFAULT_NODE_OPTIONS = Object.freeze({
  listen: '127.0.0.1:7946',
  seeds: Object.freeze([]) as readonly string[],
  clusterId: 'flotilla',
  dev: false,
  tags: Object.freeze({}) as Tags,
  logLevel: 'info' as LogLevel,
  lifecycle: Object.freeze({ drainTimeoutMs: 10_000, leaveTimeoutMs: 10_000, closeTimeoutMs: 5_000, healthCheckIntervalMs: 1_000, advertiseCheckTimeoutMs: 3_000 }) as LifecycleConfig,
});

/** `StartNodeOptions` with every default filled in and every rule checked. */
export interface NodeConfig {
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly advertiseHost: string | undefined;
  readonly advertiseCheck: boolean;
  readonly seeds: readonly Address[];
  readonly clusterId: string;
  readonly secret: string;
  /** A second secret accepted from peers during a rotation, never sent. */
  readonly secretPrevious: string | undefined;
  /** True when the dev secret stands in for a missing one. */
  readonly devSecret: boolean;
  readonly tags: Tags;
  readonly dataDir: string | undefined;
  readonly forceForm: boolean;
  readonly logLevel: LogLevel;
  readonly swim: SwimConfig;
  readonly transport: TransportConfig;
  readonly partitions: Partial<CoordinatorConfig> | false;
  readonly routing: RoutingConfig;
  readonly migration: MigrationConfig;
  readonly kv: KvConfig;
  readonly lifecycle: LifecycleConfig;
  readonly driver: DriverConfig;
  readonly entity: EntityConfig;
  readonly durable: DurableConfig;
  /** etcd mode, when `etcd` was given. */
  readonly etcd: ResolvedEtcd | undefined;
}

function invalid(detail: string, details?: Record<string, unknown>): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail, details);
}

/** Checks `options` and fills in the defaults; throws FLO_CONFIG_INVALID naming the first bad option. */
export function resolveNodeConfig(options: StartNodeOptions): NodeConfig {
  if (typeof options !== 'object' || options === null) throw invalid('startNode options must be an object');
  const nodeId = options.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  checkId('nodeId', nodeId, NODE_ID_BYTES_MAX);
  const clusterId = options.clusterId ?? DEFAULT_NODE_OPTIONS.clusterId;
  checkId('clusterId', clusterId, CLUSTER_ID_BYTES_MAX);
  const { host, port } = parseListen(options.listen ?? DEFAULT_NODE_OPTIONS.listen);
  const advertiseHost = options.advertise === undefined ? undefined : parseAdvertise(options.advertise, port);
  if ((host === '0.0.0.0' || host === '::') && advertiseHost === undefined) {
    throw invalid(`listen ${options.listen ?? ''} binds every interface: set advertise to the address peers should use`);
  }
  const { secret, devSecret } = resolveSecret(options);
  const swim = resolveSection('swim', options.swim, DEFAULT_SWIM_CONFIG, resolveSwimConfig);
  const lifecycle = resolveLifecycle(options.lifecycle, swim);
  for (const key of ['host', 'port', 'advertiseHost', 'nodeId']) {
    if (options.transport !== undefined && key in options.transport) throw invalid(`transport.${key} cannot be set: use listen, advertise and nodeId`);
  }
  const transport = resolveSection('transport', { ...options.transport, host, port, advertiseHost, nodeId }, DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig);
  if (options.entities !== undefined && !Array.isArray(options.entities)) throw invalid('entities must be an array of entity definitions');
  if (options.workflows !== undefined && !Array.isArray(options.workflows)) throw invalid('workflows must be an array of workflow definitions');
  if (options.timerKinds !== undefined && !Array.isArray(options.timerKinds)) throw invalid('timerKinds must be an array of timer kinds');
  const partitions = options.partitions ?? {};
  const kv = resolveKvConfig(options.kv);
  if (partitions !== false) {
    const { backupCount } = resolveCoordinatorConfig(partitions);
    // More copies than a partition can ever have would refuse every write, for good.
    if (kv.writeCopiesMin > backupCount + 1) throw invalid(`kv.writeCopiesMin (${kv.writeCopiesMin}) must not exceed partitions.backupCount + 1 (${backupCount + 1})`, { writeCopiesMin: kv.writeCopiesMin, backupCount });
  }
  return Object.freeze({
    nodeId,
    host,
    port,
    advertiseHost,
    advertiseCheck: resolveFlag('advertiseCheck', options.advertiseCheck ?? true),
    seeds: resolveSeeds(options.seeds),
    clusterId,
    secret,
    secretPrevious: resolveSecretPrevious(options.secretPrevious, secret),
    devSecret,
    tags: resolveTags(options.tags),
    dataDir: resolveDataDir(options.dataDir),
    forceForm: resolveFlag('forceForm', options.forceForm),
    logLevel: resolveLogLevel(options.logLevel),
    swim,
    transport,
    partitions,
    routing: resolveRoutingConfig(options.routing),
    migration: resolveMigrationConfig(options.migration),
    kv,
    lifecycle,
    driver: resolveDriverConfig(options.driver),
    entity: resolveSection('entity', options.entity, DEFAULT_ENTITY_CONFIG, resolveEntityConfig),
    durable: resolveSection('durable', options.durable, DEFAULT_DURABLE_CONFIG, resolveDurableConfig),
    etcd: options.etcd === undefined ? undefined : resolveEtcd(options.etcd, clusterId),
  });
}

function checkId(option: string, value: unknown, bytesMax: number): void {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value, 'utf8') > bytesMax) {
    throw invalid(`${option} must be a non-empty string of at most ${bytesMax} bytes`, { [option]: value });
  }
  if ([...value].some((c) => c.trim() === '' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw invalid(`${option} ${JSON.stringify(value)} must not contain spaces or control characters`);
}

function resolveSecret(options: StartNodeOptions): { secret: string; devSecret: boolean } {
  if (options.dev !== undefined && typeof options.dev !== 'boolean') throw invalid('dev must be a boolean');
  if (options.secret === undefined || options.secret === '') {
    if (options.dev === true) return { secret: DEV_SECRET, devSecret: true };
    throw invalid('secret is required: give the cluster secret (FLOTILLA_SECRET / --secret), or dev: true for a local development cluster');
  }
  if (typeof options.secret !== 'string' || options.secret.length < SECRET_CHARS_MIN) {
    throw invalid(`secret must be a string of at least ${SECRET_CHARS_MIN} characters`);
  }
  return { secret: options.secret, devSecret: false };
}

function resolveSecretPrevious(previous: string | undefined, secret: string): string | undefined {
  if (previous === undefined || previous === '') return undefined;
  if (typeof previous !== 'string' || previous.length < SECRET_CHARS_MIN) throw invalid(`secretPrevious must be a string of at least ${SECRET_CHARS_MIN} characters`);
  if (previous === secret) throw invalid('secretPrevious must differ from secret');
  return previous;
}

function resolveSeeds(seeds: readonly string[] | undefined): readonly Address[] {
  if (seeds === undefined) return DEFAULT_NODE_OPTIONS.seeds;
  if (!Array.isArray(seeds)) throw invalid('seeds must be an array of "host:port" strings');
  const unique = [...new Set(seeds.map((s) => parseSeed(s)))];
  if (unique.length > SEEDS_MAX) throw invalid(`at most ${SEEDS_MAX} seeds`, { count: unique.length });
  return Object.freeze(unique);
}

function resolveTags(tags: Tags | undefined): Tags {
  if (tags === undefined) return DEFAULT_NODE_OPTIONS.tags;
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw invalid('tags must be an object of strings');
  if (HEALTH_TAG in tags) throw invalid(`tag "${HEALTH_TAG}" is reserved: the node sets it from its health checks`);
  try {
    return validateTags(tags);
  } catch (err) {
    throw invalid(`tags: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function resolveFlag(option: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`${option} must be a boolean`, { [option]: value });
  return value ?? false;
}

function resolveDataDir(dataDir: string | undefined): string | undefined {
  if (dataDir === undefined) return undefined;
  if (typeof dataDir !== 'string' || dataDir.trim().length === 0) throw invalid('dataDir must be a non-empty path');
  return dataDir;
}

function resolveLogLevel(level: LogLevel | undefined): LogLevel {
  if (level === undefined) return DEFAULT_NODE_OPTIONS.logLevel;
  if (!isLogLevel(level)) throw invalid(`logLevel ${JSON.stringify(level)} is not one of silent, fatal, error, warn, info, debug, trace`);
  return level;
}

function resolveLifecycle(overrides: Partial<LifecycleConfig> | undefined, swim: SwimConfig): LifecycleConfig {
  const lifecycle = resolveSection('lifecycle', overrides, DEFAULT_NODE_OPTIONS.lifecycle, (o) => ({ ...DEFAULT_NODE_OPTIONS.lifecycle, ...o }));
  for (const [key, value] of Object.entries(lifecycle)) {
    if (!Number.isSafeInteger(value) || value < 1) throw invalid(`lifecycle.${key} must be a positive integer (ms)`, { [key]: value });
  }
  if (lifecycle.leaveTimeoutMs < swim.leaveTimeoutMs) {
    throw invalid('lifecycle.leaveTimeoutMs must be at least swim.leaveTimeoutMs', { leaveTimeoutMs: lifecycle.leaveTimeoutMs, swimLeaveTimeoutMs: swim.leaveTimeoutMs });
  }
  return Object.freeze(lifecycle);
}

/** Refuses unknown keys (a typo must not pass silently), then resolves the section. */
function resolveSection<T extends object, R>(name: string, overrides: Partial<T> | undefined, defaults: T, resolve: (o: Partial<T>) => R): R {
  if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null)) throw invalid(`${name} must be an object`);
  const defined: Partial<T> = {};
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!(key in defaults)) throw invalid(`${name}.${key} is not a ${name} setting`);
    if (value !== undefined) (defined as Record<string, unknown>)[key] = value;
  }
  try {
    return resolve(defined);
  } catch (err) {
    if (isFlotillaError(err, 'FLO_CONFIG_INVALID') && !err.message.includes(`${name}.`)) {
      throw invalid(`${name}: ${err.message.replace(/^Invalid configuration: /, '')}`, err.details === undefined ? undefined : { ...err.details });
    }
    throw err;
  }
}
