/**
 * The error catalog: every expected failure in Flotilla has a stable `FLO_*` code, a
 * message, whether retrying can help, and (for HTTP) a status. `docs/errors.md` lists the
 * same table; a test keeps the two in step.
 */

/** One catalog entry. */
export interface ErrorSpec {
  /** Stable code, part of the public contract. */
  readonly code: string;
  /** Human-readable message template; details are appended by the thrower. */
  readonly message: string;
  /** Whether the same request may succeed if retried later. */
  readonly retryable: boolean;
  /** HTTP status used by the admin API and gateway. */
  readonly status: number;
}

function spec(code: string, message: string, retryable: boolean, status: number): ErrorSpec {
  return { code, message, retryable, status };
}

/** All catalogued errors, keyed by their code. */
export const ErrorCatalog = {
  FLO_CONFIG_INVALID: spec('FLO_CONFIG_INVALID', 'Invalid configuration', false, 400),
  FLO_ADVERTISE_UNREACHABLE: spec('FLO_ADVERTISE_UNREACHABLE', 'The advertised address does not reach this node', false, 400),
  FLO_INVALID_ARGUMENT: spec('FLO_INVALID_ARGUMENT', 'Invalid argument', false, 400),
  FLO_DECODE_MALFORMED: spec('FLO_DECODE_MALFORMED', 'Malformed frame', false, 400),
  FLO_DECODE_TRUNCATED: spec('FLO_DECODE_TRUNCATED', 'Truncated frame', false, 400),
  FLO_DECODE_OVERSIZED: spec('FLO_DECODE_OVERSIZED', 'Frame exceeds the size limit', false, 413),
  FLO_DECODE_UNKNOWN_TYPE: spec('FLO_DECODE_UNKNOWN_TYPE', 'Unknown message type', false, 400),
  FLO_DECODE_INVALID: spec('FLO_DECODE_INVALID', 'Message failed validation', false, 400),
  FLO_ENCODE_OVERSIZED: spec('FLO_ENCODE_OVERSIZED', 'Message exceeds the size limit', false, 413),
  FLO_PROTOCOL_VERSION: spec('FLO_PROTOCOL_VERSION', 'Unsupported protocol version', false, 400),
  FLO_HLC_DRIFT: spec('FLO_HLC_DRIFT', 'Remote clock is ahead beyond the allowed drift', true, 409),
  FLO_TAGS_TOO_LARGE: spec('FLO_TAGS_TOO_LARGE', 'Node tags exceed the size limit', false, 413),
  FLO_NO_SEEDS_REACHABLE: spec('FLO_NO_SEEDS_REACHABLE', 'No seed node could be reached', true, 503),
  FLO_REJOIN_NO_PEERS: spec('FLO_REJOIN_NO_PEERS', 'A former member reached none of its seeds or last-known peers and will not form a new cluster', true, 503),
  FLO_NOT_JOINED: spec('FLO_NOT_JOINED', 'The node has not joined its cluster yet', true, 503),
  FLO_JOIN_REJECTED: spec('FLO_JOIN_REJECTED', 'Join rejected by the cluster', false, 403),
  FLO_AUTH_FAILED: spec('FLO_AUTH_FAILED', 'Authentication failed', false, 401),
  FLO_CLOCK_SKEW: spec('FLO_CLOCK_SKEW', "Node's clock is off from the cluster's beyond the allowed drift", false, 409),
  FLO_NODE_STOPPED: spec('FLO_NODE_STOPPED', 'The node has stopped', false, 503),
  FLO_EVENTS_DROPPED: spec('FLO_EVENTS_DROPPED', 'Subscriber lagged; events were dropped', false, 500),
  FLO_READ_ONLY: spec('FLO_READ_ONLY', 'Node is in the minority side of a partition and read-only', true, 503),
  FLO_DETACHED: spec('FLO_DETACHED', 'This runner holds no etcd lease or no lock for the partition and does not serve its writes', true, 503),
  FLO_ETCD_UNAVAILABLE: spec('FLO_ETCD_UNAVAILABLE', 'etcd could not be reached', true, 503),
  FLO_NOT_OWNER: spec('FLO_NOT_OWNER', 'This node does not own the partition', true, 421),
  FLO_NO_OWNER: spec('FLO_NO_OWNER', 'The partition has no live owner', true, 503),
  FLO_PARTITION_SYNCING: spec('FLO_PARTITION_SYNCING', "The partition's owner is still receiving data handed over after a merge", true, 503),
  FLO_ASSIGNMENT_INVALID: spec('FLO_ASSIGNMENT_INVALID', 'Invalid partition assignment', false, 500),
  FLO_STALE_EPOCH: spec('FLO_STALE_EPOCH', 'Write refused: the partition epoch is stale', false, 409),
  FLO_TIMEOUT: spec('FLO_TIMEOUT', 'Operation timed out', true, 504),
  FLO_TOO_FEW_COPIES: spec('FLO_TOO_FEW_COPIES', 'Write refused: the partition has fewer backups than kv.writeCopiesMin asks', true, 503),
  FLO_UNCONFIRMED: spec('FLO_UNCONFIRMED', 'Outcome unknown: the write may have taken effect but was not confirmed', true, 504),
  FLO_CONNECTION_FAILED: spec('FLO_CONNECTION_FAILED', 'Connection to the peer failed or was lost', true, 503),
  FLO_QUEUE_FULL: spec('FLO_QUEUE_FULL', 'Queue is full', true, 503),
  FLO_INTERNAL: spec('FLO_INTERNAL', 'Internal error', false, 500),
  FLO_NOT_FOUND: spec('FLO_NOT_FOUND', 'No such resource', false, 404),
  FLO_METHOD_NOT_ALLOWED: spec('FLO_METHOD_NOT_ALLOWED', 'Method not allowed on this resource', false, 405),
  FLO_STORAGE: spec('FLO_STORAGE', 'Storage operation failed', true, 503),
  FLO_STORAGE_SCHEMA: spec('FLO_STORAGE_SCHEMA', 'Storage schema is newer than this version of Flotilla', false, 500),
  FLO_ENTITY_UNKNOWN: spec('FLO_ENTITY_UNKNOWN', 'Unknown entity type', false, 404),
  FLO_HANDLER_UNKNOWN: spec('FLO_HANDLER_UNKNOWN', 'Unknown entity handler', false, 404),
  FLO_HANDLER_FAILED: spec('FLO_HANDLER_FAILED', 'Entity handler failed', false, 500),
  FLO_MAILBOX_FULL: spec('FLO_MAILBOX_FULL', 'Entity mailbox is full', true, 503),
  FLO_CALL_DEPTH: spec('FLO_CALL_DEPTH', 'Entity call chain exceeds the depth limit', false, 508),
  FLO_STATE_TOO_LARGE: spec('FLO_STATE_TOO_LARGE', 'Entity state exceeds the size limit', false, 413),
  FLO_VERSION_CONFLICT: spec('FLO_VERSION_CONFLICT', 'Version conflict: the entity changed since the expected version', false, 409),
  FLO_UNAUTHORIZED: spec('FLO_UNAUTHORIZED', 'Missing or wrong admin token', false, 401),
  FLO_FORBIDDEN: spec('FLO_FORBIDDEN', 'Request refused: host or origin not allowed', false, 403),
  FLO_INVALID_UTF8: spec('FLO_INVALID_UTF8', 'Text is not valid UTF-8', false, 400),
  FLO_TOKEN_EXPIRED: spec('FLO_TOKEN_EXPIRED', 'The client token has expired', false, 401),
  FLO_WORKFLOW_UNKNOWN: spec('FLO_WORKFLOW_UNKNOWN', 'Unknown workflow name', false, 404),
  FLO_WORKFLOW_NONDETERMINISM: spec('FLO_WORKFLOW_NONDETERMINISM', 'Workflow replay diverged from its journal', false, 500),
  FLO_WORKFLOW_FAILED: spec('FLO_WORKFLOW_FAILED', 'Workflow failed', false, 500),
  FLO_ACTIVITY_FAILED: spec('FLO_ACTIVITY_FAILED', 'Activity failed after its retries', false, 500),
  FLO_CHILD_WORKFLOW_FAILED: spec('FLO_CHILD_WORKFLOW_FAILED', 'Child workflow failed', false, 500),
} as const satisfies Record<string, ErrorSpec>;

/** A catalogued error code. */
export type ErrorCode = keyof typeof ErrorCatalog;

/** The one error class Flotilla throws for expected failures. */
export class FlotillaError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>) {
    const entry = ErrorCatalog[code];
    super(detail === undefined ? entry.message : `${entry.message}: ${detail}`);
    this.name = 'FlotillaError';
    this.code = code;
    this.retryable = entry.retryable;
    this.status = entry.status;
    this.details = details;
  }

  /** JSON shape used on HTTP and in logs. */
  toJSON(): { error: string; code: ErrorCode; retryable: boolean; details?: Readonly<Record<string, unknown>> } {
    const out: { error: string; code: ErrorCode; retryable: boolean; details?: Readonly<Record<string, unknown>> } = {
      error: this.message,
      code: this.code,
      retryable: this.retryable,
    };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

/** True when `err` is a FlotillaError, optionally with the given code. */
export function isFlotillaError(err: unknown, code?: ErrorCode): err is FlotillaError {
  return err instanceof FlotillaError && (code === undefined || err.code === code);
}

/**
 * Invariant check that stays on in production. A failure is a bug in Flotilla, not an
 * expected condition, so it throws a plain Error rather than a catalogued one.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
