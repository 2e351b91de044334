/**
 * Named health checks and the node's health report. A check is a cheap synchronous
 * function; the overall status is the worst of them, shaped by the node's lifecycle
 * (joining, leaving, stopped). The node publishes the worst check status in its gossip
 * tags (`health=degraded`), so peers can steer work away from a sick node.
 */
import { FlotillaError } from '../core/errors.js';

/** Verdict of one check. */
export type CheckStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One check's result with an optional explanation. */
export interface HealthCheckResult {
  readonly status: CheckStatus;
  readonly detail?: string;
}

/** A health check: a status, or a status with a detail. Throwing counts as unhealthy. */
export type HealthCheck = () => CheckStatus | HealthCheckResult;

/** Overall health: lifecycle first, then the worst check. */
export type HealthStatus = 'ok' | 'degraded' | 'unhealthy' | 'joining' | 'leaving' | 'stopped';

/** What `node.health()` answers (and `GET /health` serves). */
export interface NodeHealthReport {
  readonly status: HealthStatus;
  readonly nodeId: string;
  /** The node's lifecycle state. */
  readonly state: string;
  readonly checks: Readonly<Record<string, HealthCheckResult>>;
  /** Why the node is not serving, while it joins. */
  readonly reason?: string;
}

/** The gossip tag carrying a node's worst check status; absent while healthy. */
export const HEALTH_TAG = 'health';

/** Most checks one node holds. */
export const HEALTH_CHECKS_MAX = 64;

/** Longest detail kept from a check (longer ones are cut), in characters. */
export const HEALTH_DETAIL_CHARS_MAX = 256;

const SEVERITY: Readonly<Record<CheckStatus, number>> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** The worse of two statuses. */
export function worseStatus(a: CheckStatus, b: CheckStatus): CheckStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** The registered checks of one node. */
export class HealthChecks {
  private readonly checks = new Map<string, HealthCheck>();

  /** Adds (or replaces) the check `name`; returns a function that removes it. */
  register(name: string, check: HealthCheck): () => void {
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', 'health check name must be 1..64 characters', { name });
    }
    if (typeof check !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `health check ${name} must be a function`);
    if (!this.checks.has(name) && this.checks.size >= HEALTH_CHECKS_MAX) {
      throw new FlotillaError('FLO_QUEUE_FULL', `at most ${HEALTH_CHECKS_MAX} health checks`, { name });
    }
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  /** Runs every check now. */
  evaluate(): Record<string, HealthCheckResult> {
    const out: Record<string, HealthCheckResult> = {};
    for (const [name, check] of this.checks) out[name] = runCheck(check);
    return out;
  }
}

/** The worst status among `results` (healthy when there are none). */
export function worstOf(results: Readonly<Record<string, HealthCheckResult>>): CheckStatus {
  let worst: CheckStatus = 'healthy';
  for (const result of Object.values(results)) worst = worseStatus(worst, result.status);
  return worst;
}

/** The overall status for a node in `lifecycle` whose worst check says `worst`. */
export function overallStatus(lifecycle: 'joining' | 'running' | 'leaving' | 'stopped', worst: CheckStatus): HealthStatus {
  if (lifecycle !== 'running') return lifecycle;
  return worst === 'healthy' ? 'ok' : worst;
}

function runCheck(check: HealthCheck): HealthCheckResult {
  let raw: unknown;
  try {
    raw = check();
  } catch (err) {
    return { status: 'unhealthy', detail: clip(`check threw: ${err instanceof Error ? err.message : String(err)}`) };
  }
  if (raw === 'healthy' || raw === 'degraded' || raw === 'unhealthy') return { status: raw };
  if (typeof raw === 'object' && raw !== null) {
    const { status, detail } = raw as { status?: unknown; detail?: unknown };
    if (status === 'healthy' || status === 'degraded' || status === 'unhealthy') {
      return typeof detail === 'string' ? { status, detail: clip(detail) } : { status };
    }
  }
  return { status: 'unhealthy', detail: 'check returned neither a status nor {status, detail}' };
}

function clip(text: string): string {
  return text.length <= HEALTH_DETAIL_CHARS_MAX ? text : `${text.slice(0, HEALTH_DETAIL_CHARS_MAX - 1)}…`;
}
