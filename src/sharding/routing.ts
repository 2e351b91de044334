/**
 * The routing rule for partition-addressed operations, both ends of it. `RequestRouter`
 * answers `ServiceRequest`s: it runs them when this node owns the partition, and
 * otherwise answers NOT_OWNER with the owner it knows, or forwards them there (wrapped
 * once in an `OpForward`, at most MAX_FORWARD_HOPS) when asked to. `RoutingClient` sends
 * operations to the owner in the local table and retries NOT_OWNER and connection
 * failures against the newer owner, within a deadline and with backoff.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Address, NodeId } from '../core/model.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import { decode, encode } from '../protocol/codec.js';
import { canForward, forwardOp } from '../protocol/forward.js';
import type { Message, OpForward, ServiceRequest, ServiceResponse } from '../protocol/messages.js';
import { sleep, type Timers } from '../core/timers.js';
import type { RoutingConfig } from './config.js';
import { remoteError } from './migration-outgoing.js';
import type { PartitionHandler, RouteOptions } from './service.js';

/** What both ends need from the node. */
export interface RoutingDeps {
  readonly self: NodeId;
  readonly config: RoutingConfig;
  table(): PartitionTableReader;
  addressOf(nodeId: NodeId): Address | undefined;
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
}

/** What the router needs beyond the shared deps. */
export interface RequestRouterDeps extends RoutingDeps {
  /** The quorum verdict: writes are refused with FLO_READ_ONLY while it holds. */
  readOnly(): boolean;
  /** The host's verdict on writes to `partition` (etcd mode: the lease and the partition's lock); an error refuses them. */
  writeRefusal?(partition: number): FlotillaError | undefined;
}

/** Answers `ServiceRequest` and `OpForward` requests. */
export class RequestRouter {
  private readonly handlers = new Map<string, PartitionHandler>();

  constructor(private readonly deps: RequestRouterDeps) {}

  /** Make `handler` reachable. Throws FLO_CONFIG_INVALID for a name taken twice. */
  register(handler: PartitionHandler): void {
    if (this.handlers.has(handler.service)) throw new FlotillaError('FLO_CONFIG_INVALID', `two handlers for service ${handler.service}`);
    this.handlers.set(handler.service, handler);
  }

  /** Answer one request (from a peer, or from this node when `from` is undefined). Never rejects. */
  serve(from: Address | undefined, request: ServiceRequest): Promise<ServiceResponse> {
    const handler = this.handlers.get(request.service);
    if (handler === undefined) return Promise.resolve(this.failure(request.opId, new FlotillaError('FLO_INVALID_ARGUMENT', `no service ${request.service}`)));
    if (request.partition >= this.deps.table().partitionCount) {
      return Promise.resolve(this.failure(request.opId, new FlotillaError('FLO_INVALID_ARGUMENT', `no partition ${request.partition}`)));
    }
    if (handler.ownerOnly && !this.owns(request.partition)) {
      if (!request.forward) return Promise.resolve(this.notOwner(request.opId, request.partition));
      const encoded = encode(request);
      const forward = forwardOp(request, { opId: request.opId, partition: request.partition, origin: this.deps.self, opBytes: encoded });
      return this.forward(forward, handler.isWrite?.(request) ?? true);
    }
    return this.run(handler, from, request);
  }

  /** Answer an `OpForward`: run its operation if this node owns the partition, else send it on (hops + 1). */
  serveForward(from: Address, forward: OpForward): Promise<ServiceResponse> {
    let inner: Message;
    try {
      inner = decode(forward.op);
    } catch (error) {
      return Promise.resolve(this.failure(forward.opId, asFlotilla(error)));
    }
    if (inner.type !== 'ServiceRequest' || inner.opId !== forward.opId || inner.partition !== forward.partition) {
      return Promise.resolve(this.failure(forward.opId, new FlotillaError('FLO_INVALID_ARGUMENT', 'OpForward does not carry its ServiceRequest')));
    }
    const handler = this.handlers.get(inner.service);
    if (handler === undefined || !handler.ownerOnly || this.owns(inner.partition)) return this.serve(from, inner);
    if (!canForward(forward)) return Promise.resolve(this.notOwner(forward.opId, forward.partition));
    return this.forward(forwardOp(forward), handler.isWrite?.(inner) ?? true);
  }

  /** NOT_OWNER with the owner this node knows and its table version. */
  notOwner(opId: string, partition: number): ServiceResponse {
    const table = this.deps.table();
    const owner = partition < table.partitionCount ? table.owner(partition) : undefined;
    const ownerAddress = owner === undefined || owner === this.deps.self ? undefined : this.deps.addressOf(owner);
    return {
      type: 'ServiceResponse',
      opId,
      ok: false,
      errorCode: 'FLO_NOT_OWNER',
      errorMessage: owner === undefined ? `partition ${partition} has no owner here` : `partition ${partition} is owned by ${owner}`,
      ...(owner !== undefined && ownerAddress !== undefined ? { owner, ownerAddress } : {}),
      tableVersion: table.version,
    };
  }

  private owns(partition: number): boolean {
    const table = this.deps.table();
    return table.version > 0 && table.owner(partition) === this.deps.self;
  }

  private async run(handler: PartitionHandler, from: Address | undefined, request: ServiceRequest): Promise<ServiceResponse> {
    if (this.deps.readOnly() && (handler.isWrite?.(request) ?? true)) {
      return this.failure(request.opId, new FlotillaError('FLO_READ_ONLY', `${request.service} write on partition ${request.partition}: this node is on the minority side`));
    }
    const refusal = handler.ownerOnly ? this.deps.writeRefusal?.(request.partition) : undefined;
    if (refusal !== undefined && (handler.isWrite?.(request) ?? true)) return this.failure(request.opId, refusal);
    try {
      const payload = await handler.handle(request, from);
      return payload === undefined ? { type: 'ServiceResponse', opId: request.opId, ok: true } : { type: 'ServiceResponse', opId: request.opId, ok: true, payload };
    } catch (error) {
      const err = asFlotilla(error);
      return err.code === 'FLO_NOT_OWNER' ? { ...this.notOwner(request.opId, request.partition), errorMessage: err.message.slice(0, 512) } : this.failure(request.opId, err);
    }
  }

  /**
   * Send `forward` to the owner this node knows and relay its answer. A write whose
   * connection closed after it went out may have run there: the sender hears
   * FLO_UNCONFIRMED (the wire carries codes, not the `inFlight` detail).
   */
  private async forward(forward: OpForward, isWrite: boolean): Promise<ServiceResponse> {
    const owner = this.deps.table().owner(forward.partition);
    const address = owner === undefined || owner === this.deps.self ? undefined : this.deps.addressOf(owner);
    if (address === undefined) return this.notOwner(forward.opId, forward.partition);
    try {
      const reply = await this.deps.request(address, forward, this.deps.config.attemptTimeoutMs);
      if (reply.type === 'ServiceResponse') return reply;
      return this.failure(forward.opId, new FlotillaError('FLO_INTERNAL', `forward answered with ${reply.type}`));
    } catch (error) {
      const err = peerError(error);
      const lostInFlight = isWrite && err.code === 'FLO_CONNECTION_FAILED' && err.details?.inFlight === true;
      return this.failure(forward.opId, lostInFlight ? new FlotillaError('FLO_UNCONFIRMED', `forwarded to ${owner}, connection lost after it went out: ${err.message}`, { outcomeUnknown: true }) : err);
    }
  }

  private failure(opId: string, error: FlotillaError): ServiceResponse {
    return {
      type: 'ServiceResponse',
      opId,
      ok: false,
      errorCode: error.code,
      errorMessage: error.message.slice(0, 512),
      tableVersion: this.deps.table().version,
    };
  }
}

/** What the client needs beyond the shared deps. */
export interface RoutingClientDeps extends RoutingDeps {
  /** Run a request on this node (the router's `serve`). */
  local(request: ServiceRequest): Promise<ServiceResponse>;
  /** A peer knows table `version`: fetch it if newer. */
  observeTableVersion(version: number): void;
  readonly timers: Timers;
  /** True once the node is stopping: retries end with FLO_NODE_STOPPED. */
  stopped(): boolean;
}

/** Where the next attempt goes. */
interface Target {
  readonly nodeId: NodeId;
  readonly address: Address | undefined;
}

/** Sends operations to partition owners, retrying until they land or the deadline passes. */
export class RoutingClient {
  private opSeq = 0;

  constructor(private readonly deps: RoutingClientDeps) {}

  /**
   * Run `payload` on the owner of `partition` through `service`; resolves with the reply
   * payload. Retries NOT_OWNER, NO_OWNER, NOT_JOINED and retryable transport errors (with backoff,
   * following newer owner hints) until the caller's deadline (default `opTimeoutMs` from
   * now) or `attemptsMax`; then rejects with FLO_TIMEOUT (details name the last error). A
   * non-retryable error, and FLO_READ_ONLY (the owner's side lacks quorum: retrying within
   * one call does not help), reject at once.
   *
   * An attempt that may have run (answered FLO_UNCONFIRMED, timed out, or lost its
   * connection after the request went out) is retried too, but from then on a refusal no
   * longer means "not done": a later FLO_READ_ONLY rejects with FLO_UNCONFIRMED
   * (`outcomeUnknown`), and the deadline's FLO_TIMEOUT says `outcomeUnknown` in its
   * details. A non-retryable error is the operation's own answer (it ran, or its input is
   * bad) and passes through.
   */
  async call(service: string, partition: number, payload: Uint8Array, options: RouteOptions = {}): Promise<Uint8Array | undefined> {
    const { config, timers } = this.deps;
    const forward = options.forward ?? false;
    const deadline = options.deadline ?? timers.now() + (options.timeoutMs ?? config.opTimeoutMs);
    let hint: Target | undefined;
    let lastError: FlotillaError | undefined;
    let backoff = config.backoffInitialMs;
    let mayHaveRun: FlotillaError | undefined;
    for (let attempt = 0; attempt < config.attemptsMax; attempt++) {
      if (this.deps.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', `${service} operation on partition ${partition}`);
      const remaining = deadline - timers.now();
      if (remaining <= 0) break;
      const target = hint ?? this.ownerTarget(partition);
      hint = undefined;
      const request: ServiceRequest = { type: 'ServiceRequest', service, partition, opId: `${this.deps.self}/${++this.opSeq}`, forward, payload };
      const budget = Math.min(remaining, config.attemptTimeoutMs);
      const outcome = await this.attempt(target, request, budget);
      if (outcome.ok) return outcome.payload;
      const error = outcome.error;
      if (mayHaveRunCode(error)) mayHaveRun ??= error;
      // The timeout of an attempt the deadline cut short says nothing about the owner: the
      // answer before it (a refusal, say) stays the reason the call gives.
      if (!(error.code === 'FLO_TIMEOUT' && budget < config.attemptTimeoutMs && lastError !== undefined)) lastError = error;
      if (error.code === 'FLO_READ_ONLY') throw mayHaveRun === undefined ? error : outcomeUnknown(service, partition, mayHaveRun, error);
      if (!error.retryable) throw error;
      hint = outcome.hint;
      if (hint !== undefined && attempt === 0) continue;
      await sleep(timers, Math.min(backoff, Math.max(0, deadline - timers.now())));
      backoff = Math.min(config.backoffMaxMs, Math.max(1, backoff * 2));
    }
    throw new FlotillaError('FLO_TIMEOUT', `${service} operation on partition ${partition} did not complete`, {
      partition,
      lastError: lastError?.code,
      lastMessage: lastError?.message,
      ...(mayHaveRun === undefined ? {} : { outcomeUnknown: true }),
    });
  }

  private ownerTarget(partition: number): Target | undefined {
    const table = this.deps.table();
    const owner = table.version > 0 ? table.owner(partition) : undefined;
    if (owner === undefined) return undefined;
    return { nodeId: owner, address: owner === this.deps.self ? undefined : this.deps.addressOf(owner) };
  }

  private async attempt(
    target: Target | undefined,
    request: ServiceRequest,
    timeoutMs: number,
  ): Promise<{ ok: true; payload: Uint8Array | undefined } | { ok: false; error: FlotillaError; hint?: Target }> {
    if (target === undefined) {
      const version = this.deps.table().version;
      // Table version 0 is the empty table a node holds until its master's first one arrives.
      if (version === 0) return { ok: false, error: new FlotillaError('FLO_NOT_JOINED', `partition ${request.partition}: this node has no partition table yet`) };
      return { ok: false, error: new FlotillaError('FLO_NO_OWNER', `partition ${request.partition} has no owner in table ${version}`) };
    }
    let reply: Message;
    try {
      if (target.nodeId === this.deps.self) reply = await this.deps.local(request);
      else if (target.address === undefined) return { ok: false, error: new FlotillaError('FLO_CONNECTION_FAILED', `owner ${target.nodeId} has no address`) };
      else reply = await this.deps.request(target.address, request, timeoutMs);
    } catch (error) {
      return { ok: false, error: target.nodeId === this.deps.self ? asFlotilla(error) : peerError(error) };
    }
    if (reply.type !== 'ServiceResponse') return { ok: false, error: new FlotillaError('FLO_INTERNAL', `answered with ${reply.type}`) };
    if (reply.ok) return { ok: true, payload: reply.payload };
    const error = remoteError(reply.errorCode, reply.errorMessage);
    const tableVersion = reply.tableVersion ?? 0;
    if (tableVersion > this.deps.table().version) this.deps.observeTableVersion(tableVersion);
    if (error.code !== 'FLO_NOT_OWNER') return { ok: false, error };
    // Follow the hint only when it comes from a table newer than ours; otherwise ours will be right soon.
    const useHint = reply.owner !== undefined && tableVersion > this.deps.table().version && reply.owner !== target.nodeId;
    return useHint ? { ok: false, error, hint: { nodeId: reply.owner!, address: reply.owner === this.deps.self ? undefined : reply.ownerAddress } } : { ok: false, error };
  }
}

/** Whether an attempt that failed with `error` may still have run on the owner (a lost connection counts once the request went out). */
function mayHaveRunCode(error: FlotillaError): boolean {
  return error.code === 'FLO_UNCONFIRMED' || error.code === 'FLO_TIMEOUT' || (error.code === 'FLO_CONNECTION_FAILED' && error.details?.inFlight === true);
}

/** The refusal `last` of a call an earlier attempt of which may have run (`first`): the caller must not read it as "not done". */
function outcomeUnknown(service: string, partition: number, first: FlotillaError, last: FlotillaError): FlotillaError {
  return new FlotillaError('FLO_UNCONFIRMED', `${service} operation on partition ${partition}: an attempt may have taken effect (${first.code}), a later one was refused (${last.code})`, {
    partition,
    outcomeUnknown: true,
    firstError: first.code,
    lastError: last.code,
    lastMessage: last.message,
  });
}

function asFlotilla(error: unknown): FlotillaError {
  return isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', error instanceof Error ? error.message : String(error));
}

/**
 * A failed request to a peer as the caller should see it: a peer that is stopping
 * (FLO_NODE_STOPPED) is as good as unreachable, and retrying elsewhere can succeed.
 */
export function peerError(error: unknown): FlotillaError {
  const err = asFlotilla(error);
  return err.code === 'FLO_NODE_STOPPED' ? new FlotillaError('FLO_CONNECTION_FAILED', `peer is stopping: ${err.message}`) : err;
}
