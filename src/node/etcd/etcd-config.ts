/**
 * Settings of etcd mode (`startNode({ etcd })`, `--etcd`, `ETCD_ENDPOINTS`): where etcd
 * is, the runner lease's TTL and how it is kept alive, and the bounds of the lock loop.
 * One typed defaults object, checked once with its cross-field rules.
 */
import { FlotillaError } from '../../core/errors.js';

/** etcd mode settings. Durations are milliseconds unless the name says otherwise. */
export interface EtcdConfig {
  /**
   * Key prefix of this cluster in etcd; runners register under `<prefix>runners/` and
   * partition locks live under `<prefix>locks/`. Default `/flotilla/<clusterId>/`. Two
   * clusters sharing an etcd must use different prefixes (different cluster ids do). Empty
   * means that default.
   */
  readonly prefix: string;
  /**
   * TTL of the runner's lease, seconds (etcd counts leases in whole seconds). Default 10.
   * It bounds failover after a kill -9: the dead runner's locks go with its lease, so a new
   * owner serves writes at most this long after the crash. Shorter fails over faster but
   * detaches runners on shorter etcd outages or pauses.
   */
  readonly leaseTtlSec: number;
  /**
   * Interval between keep-alives of the lease. Default 0: a third of the TTL. Each one is
   * one request to etcd: this is a runner's steady load on etcd.
   */
  readonly keepAliveIntervalMs: number;
  /**
   * How long before the lease would expire in etcd the runner gives it up (counted from
   * the send time of the last acknowledged keep-alive, so etcd's clock only ever expires
   * it later). Default 1,000. Covers clock-rate drift and the time to stop serving.
   */
  readonly detachMarginMs: number;
  /** Deadline of one request to etcd. Default 0: the keep-alive interval, at most 2,000. */
  readonly requestTimeoutMs: number;
  /**
   * Pause before another attempt after a failed etcd request (taking or releasing a lock,
   * or re-registering after the lease was lost). Default 500. A lock held by another runner
   * is not polled: it is taken as soon as a watch on the lock keys reports it deleted
   * (released, or its lease expired); only while that watch is broken is it polled, every
   * ten retry intervals.
   */
  readonly retryIntervalMs: number;
  /** Lock transactions in flight at once. Default 16. */
  readonly lockConcurrencyMax: number;
}

/** Defaults (the prefix is derived from the cluster id when not given). */
export const DEFAULT_ETCD_CONFIG: Readonly<EtcdConfig> = Object.freeze({
  prefix: '',
  leaseTtlSec: 10,
  keepAliveIntervalMs: 0,
  detachMarginMs: 1_000,
  requestTimeoutMs: 0,
  retryIntervalMs: 500,
  lockConcurrencyMax: 16,
});

/** Longest default deadline of one etcd request, ms. */
const REQUEST_TIMEOUT_DEFAULT_MAX_MS = 2_000;

/** Endpoints given to a node: at most this many. */
export const ETCD_ENDPOINTS_MAX = 16;

/** What a program passes as `startNode({ etcd })`. */
export interface EtcdOptions extends Partial<EtcdConfig> {
  /** etcd client URLs or `host:port` pairs, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[];
}

/** `EtcdOptions` checked and filled in. */
export interface ResolvedEtcd {
  readonly endpoints: readonly string[];
  readonly config: EtcdConfig;
}

function invalid(detail: string, details?: Record<string, unknown>): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', `etcd: ${detail}`, details);
}

/** `host:port` or `http(s)://host:port` -> a URL etcd3 accepts. @throws FLO_CONFIG_INVALID */
export function normalizeEndpoint(text: string): string {
  const trimmed = text.trim();
  const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(`endpoint ${JSON.stringify(text)} is not host:port or a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.port === '') {
    throw invalid(`endpoint ${JSON.stringify(text)}: expected http(s)://host:port`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Checks `options` and fills in the defaults. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveEtcd(options: EtcdOptions, clusterId: string): ResolvedEtcd {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.endpoints)) throw invalid('endpoints must be an array');
  if (options.endpoints.length === 0 || options.endpoints.length > ETCD_ENDPOINTS_MAX) throw invalid(`between 1 and ${ETCD_ENDPOINTS_MAX} endpoints`);
  const endpoints = [...new Set(options.endpoints.map(normalizeEndpoint))];
  const { endpoints: _endpoints, ...rest } = options;
  const merged = { ...DEFAULT_ETCD_CONFIG, ...rest };
  const prefix = merged.prefix === '' ? `/flotilla/${clusterId}/` : merged.prefix;
  if (!prefix.endsWith('/')) throw invalid('prefix must end with "/"', { prefix });
  for (const key of ['leaseTtlSec', 'keepAliveIntervalMs', 'detachMarginMs', 'requestTimeoutMs', 'retryIntervalMs', 'lockConcurrencyMax'] as const) {
    const value = merged[key];
    if (!Number.isInteger(value) || value < 0) throw invalid(`${key} must be a non-negative integer`, { [key]: value });
  }
  if (merged.leaseTtlSec < 2) throw invalid('leaseTtlSec must be at least 2', { leaseTtlSec: merged.leaseTtlSec });
  const ttlMs = merged.leaseTtlSec * 1_000;
  const keepAliveIntervalMs = merged.keepAliveIntervalMs === 0 ? Math.floor(ttlMs / 3) : merged.keepAliveIntervalMs;
  const requestTimeoutMs = merged.requestTimeoutMs === 0 ? Math.min(REQUEST_TIMEOUT_DEFAULT_MAX_MS, keepAliveIntervalMs) : merged.requestTimeoutMs;
  if (requestTimeoutMs < 1 || merged.retryIntervalMs < 1 || merged.lockConcurrencyMax < 1) throw invalid('requestTimeoutMs, retryIntervalMs and lockConcurrencyMax must be positive');
  // One keep-alive must be able to miss and the next still land before the runner gives up.
  if (2 * keepAliveIntervalMs + merged.detachMarginMs > ttlMs) {
    throw invalid('2 * keepAliveIntervalMs + detachMarginMs must not exceed the lease TTL', { keepAliveIntervalMs, detachMarginMs: merged.detachMarginMs, leaseTtlSec: merged.leaseTtlSec });
  }
  if (requestTimeoutMs > keepAliveIntervalMs) throw invalid('requestTimeoutMs must not exceed keepAliveIntervalMs', { requestTimeoutMs, keepAliveIntervalMs });
  return { endpoints, config: Object.freeze({ ...merged, prefix, keepAliveIntervalMs, requestTimeoutMs }) };
}
