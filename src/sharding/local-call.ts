/**
 * The local branch of routing. A call made on this node as an object (`LocalCall`) runs
 * in its owner's handler directly when the byte path's first attempt would run it here:
 * no encode, no `ServiceRequest`, no decode. Everything else (another owner, a refusal
 * the router would give, a retryable failure of that first attempt) takes the byte path
 * (`RoutingClient.call`) within the same deadline, so the caller hears what the byte path
 * alone would have told it.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import { remoteError } from './migration-outgoing.js';
import type { RoutingClient } from './routing.js';
import type { LocalCall, PartitionHandler, RouteOptions, ShardingEnv } from './service.js';

/** What the local branch reads of the layer: the node, its live table and routing client. */
export interface LocalRoute {
  readonly env: Pick<ShardingEnv, 'self' | 'timers' | 'readOnly' | 'writeRefusal'>;
  readonly table: PartitionTableReader;
  readonly client: RoutingClient;
  /** The routing deadline of a call that brings none. */
  readonly opTimeoutMs: number;
}

/** Run `call` on the owner of `partition` through `service`'s handler (`handler`, when registered). */
export function routeLocal(
  route: LocalRoute,
  handler: PartitionHandler | undefined,
  service: string,
  partition: number,
  call: LocalCall,
  options: RouteOptions = {},
): Promise<Uint8Array | undefined> {
  const now = route.env.timers.now();
  const deadline = options.deadline ?? now + (options.timeoutMs ?? route.opTimeoutMs);
  if (handler?.handleLocal === undefined || deadline <= now || !runsHere(route, handler, partition, call)) {
    return route.client.call(service, partition, call.encode(), { ...options, deadline });
  }
  const fallBack = (error: unknown): Promise<Uint8Array | undefined> => afterFailure(route, service, partition, call, { ...options, deadline }, error);
  let answer: Promise<Uint8Array | undefined>;
  try {
    answer = handler.handleLocal(partition, call);
  } catch (error) {
    return fallBack(error);
  }
  return answer.catch(fallBack);
}

/**
 * Whether the router would run the call here: this node owns the partition in a table it
 * holds, and a write meets neither the read-only verdict nor the host's write refusal
 * (the byte path gives those answers, with its retries).
 */
function runsHere(route: LocalRoute, handler: PartitionHandler, partition: number, call: LocalCall): boolean {
  const { table, env } = route;
  if (table.version === 0 || partition >= table.partitionCount || table.owner(partition) !== env.self) return false;
  if (!call.isWrite) return true;
  return !env.readOnly() && (!handler.ownerOnly || env.writeRefusal?.(partition) === undefined);
}

/**
 * The first attempt failed. The caller hears the failure as the byte path carries it (its
 * code and message); a retryable one is retried through the byte path. After a failure
 * that may have taken effect (FLO_UNCONFIRMED), a later refusal or the deadline says the
 * outcome is unknown, as the byte path's own retries would.
 */
function afterFailure(route: LocalRoute, service: string, partition: number, call: LocalCall, options: RouteOptions, error: unknown): Promise<Uint8Array | undefined> {
  const thrown = isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', error instanceof Error ? error.message : String(error));
  const first = remoteError(thrown.code, thrown.message.slice(0, 512));
  if (first.code === 'FLO_READ_ONLY' || !first.retryable) return Promise.reject(first);
  const retried = route.client.call(service, partition, call.encode(), options);
  if (first.code !== 'FLO_UNCONFIRMED') return retried;
  return retried.catch((later: unknown) => {
    throw outcomeUnknown(service, partition, first, later);
  });
}

function outcomeUnknown(service: string, partition: number, first: FlotillaError, later: unknown): unknown {
  if (!isFlotillaError(later)) return later;
  if (later.code === 'FLO_READ_ONLY') {
    return new FlotillaError('FLO_UNCONFIRMED', `${service} operation on partition ${partition}: an attempt may have taken effect (${first.code}), a later one was refused (${later.code})`, {
      partition,
      outcomeUnknown: true,
      firstError: first.code,
      lastError: later.code,
      lastMessage: later.message,
    });
  }
  if (later.code === 'FLO_TIMEOUT' && later.details?.outcomeUnknown !== true) {
    return new FlotillaError('FLO_TIMEOUT', `${service} operation on partition ${partition} did not complete`, { lastError: first.code, lastMessage: first.message, ...later.details, partition, outcomeUnknown: true });
  }
  return later;
}
