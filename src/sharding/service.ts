/**
 * What a partitioned service is to the sharding layer, and what the layer gives it. A
 * service registers once (`Sharding.register`) with its request handlers and, when it
 * keeps partition data, a migration participant; the layer routes requests to the
 * partition's owner, enforces the minority's read-only verdict on writes, moves the
 * participant's data with migrations and merges it after a split. The service reaches
 * the rest of the cluster only through its `ShardContext`.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Transmit } from '../core/machine.js';
import type { Address, MembersViewData, NodeId, Tags } from '../core/model.js';
import type { Timers } from '../core/timers.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import { SERVICE_NAME_BYTES_MAX } from '../protocol/limits.js';
import type { Message, ServiceRequest } from '../protocol/messages.js';
import { utf8ByteLength } from '../protocol/validate.js';
import type { MigrationParticipant, ParticipantRole } from './participant.js';

/** A request handler reachable through `ServiceRequest.service`. */
export interface PartitionHandler {
  /** `ServiceRequest.service` it answers (unique across every registered service). */
  readonly service: string;
  /** Whether only the partition's owner may run it (others answer NOT_OWNER or forward). */
  readonly ownerOnly: boolean;
  /**
   * Whether `request` changes state. A node without quorum refuses those with
   * FLO_READ_ONLY before `handle` runs. Absent: every request is a write. A service
   * that only learns while running whether it writes (entities) answers false here and
   * asks `ShardContext.readOnly()` at its write.
   */
  isWrite?(request: ServiceRequest): boolean;
  /**
   * Run one request; resolves with the reply payload. Must do its local state change
   * synchronously, before its first await, so no table change can slip between the
   * router's ownership check and the change. Throws FlotillaError for expected failures.
   */
  handle(request: ServiceRequest, from: Address | undefined): Promise<Uint8Array | undefined>;
  /**
   * Run a call this node routed to itself as the partition's owner, as the object given
   * to `route`: no encode, no decode. Same contract as `handle` (the local state change
   * before the first await; the same checks on its input), and the router's checks
   * (ownership, the read-only verdict, the write refusal, the deadline) passed first.
   * Absent: such calls are encoded and take the byte path.
   */
  handleLocal?(partition: number, call: LocalCall): Promise<Uint8Array | undefined>;
}

/**
 * A call given to `ShardContext.route` as an object rather than bytes. When this node
 * owns the partition and the handler has `handleLocal`, the call reaches it as is;
 * otherwise (another owner, a retry, a refusal) `encode()` gives the payload that travels.
 */
export interface LocalCall {
  /** Whether the call changes state: the read-only verdict and the write refusal apply to it. */
  readonly isWrite: boolean;
  /** The `ServiceRequest` payload of the call (what `handle` decodes). */
  encode(): Uint8Array;
}

/** How one routed call runs. */
export interface RouteOptions {
  /**
   * When the whole call must be over, in the host's time (`timers.now()`): every attempt,
   * retry and backoff fits inside it; then FLO_TIMEOUT. Default: now + `routing.opTimeoutMs`.
   */
  readonly deadline?: Millis;
  /** Without a `deadline`: the call's time budget from now, instead of `routing.opTimeoutMs`. Unit: ms. */
  readonly timeoutMs?: number;
  /** Ask a node that is not the owner to forward the call instead of answering NOT_OWNER. */
  readonly forward?: boolean;
}

/** What the sharding layer gives each registered service once it starts. */
export interface ShardContext {
  readonly self: NodeId;
  readonly logger: Logger;
  /** The host's one clock and timer source. */
  readonly timers: Timers;
  readonly partitionCount: number;
  /** The live partition table (cheap to read on every request). */
  table(): PartitionTableReader;
  /** This node's role for `partition` in the current table. */
  roleOf(partition: number): ParticipantRole;
  addressOf(nodeId: NodeId): Address | undefined;
  /** Request/response to a peer (FLO_TIMEOUT, FLO_CONNECTION_FAILED, ... on failure). */
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
  /**
   * Run `payload` through `service` on the owner of `partition`, with retries until the
   * deadline. A `LocalCall` runs without the byte round trip when this node is the owner.
   */
  route(service: string, partition: number, payload: Uint8Array | LocalCall, options?: RouteOptions): Promise<Uint8Array | undefined>;
  /** Send the partition's captured changes to its sealed migrations; resolves once they have them. */
  flushSealed(partition: number): Promise<void>;
  /** A peer knows partition table `version`: fetch it if newer. */
  observeTableVersion(version: number): void;
  /** True while this node lacks quorum: writes must fail with FLO_READ_ONLY. */
  readOnly(): boolean;
  /** The host's refusal of writes to `partition` (etcd mode: no lease, or the partition's lock not held), or undefined. */
  writeRefusal(partition: number): FlotillaError | undefined;
  /** True while a migration moves `partition`'s ownership from this node to another. */
  movingOwnerOut(partition: number): boolean;
  /**
   * True while a member (this node included) still hands over data of `partition` from a
   * merge or a lineage change: an owner must not answer "absent" for it yet.
   */
  awaitingData(partition: number): boolean;
  /** True once the host is stopping. */
  stopped(): boolean;
}

/** A partitioned service, as registered. */
export interface PartitionedService {
  /** Unique name (logs, metrics). */
  readonly name: string;
  /** Its request handlers. */
  readonly handlers: readonly PartitionHandler[];
  /** Set when the service keeps partition data: it then moves with migrations and merges after splits. */
  readonly participant?: MigrationParticipant;
  /** Called once when the layer starts, before any request reaches a handler. */
  start?(ctx: ShardContext): void;
  /** Called once when the layer stops, last started first. */
  stop?(): Promise<void> | void;
}

/** What the node gives the sharding layer: its identity, the wire, the view and the clock. */
export interface ShardingEnv {
  readonly self: NodeId;
  readonly logger: Logger;
  readonly timers: Timers;
  /** Fire-and-forget send; failures are the host's to count, never thrown. */
  send(transmit: Transmit<Message>): void;
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
  /** The master's members view as this node knows it. */
  membersView(): MembersViewData;
  addressOf(nodeId: NodeId): Address | undefined;
  /** Ask the host for a turn soon: the layer has machine output to drain. */
  wake(): void;
  /** The quorum verdict: true on the minority side of a split. */
  readOnly(): boolean;
  /**
   * The host's verdict on owner writes to `partition`: an error (FLO_DETACHED in etcd
   * mode, when the runner holds no lease or not the partition's lock) refuses them.
   */
  writeRefusal?(partition: number): FlotillaError | undefined;
  /** Sets some of this node's own membership tags (the others are kept): how peers learn of its merge handovers. */
  advertise?(tags: Tags): void;
}

/** Most services one sharding layer hosts. */
export const PARTITIONED_SERVICES_MAX = 32;

/**
 * Whether `service` may join `registered`: service, handler and participant names unique,
 * participant names of a sendable length, at most `PARTITIONED_SERVICES_MAX` services.
 * @throws FlotillaError FLO_CONFIG_INVALID otherwise.
 */
export function checkRegistration(registered: readonly PartitionedService[], service: PartitionedService): void {
  if (registered.length >= PARTITIONED_SERVICES_MAX) throw new FlotillaError('FLO_CONFIG_INVALID', `at most ${PARTITIONED_SERVICES_MAX} partitioned services`);
  if (registered.some((s) => s.name === service.name)) throw new FlotillaError('FLO_CONFIG_INVALID', `two partitioned services are named ${service.name}`);
  const handlerNames = new Set(registered.flatMap((s) => s.handlers.map((h) => h.service)));
  for (const h of service.handlers) {
    if (handlerNames.has(h.service)) throw new FlotillaError('FLO_CONFIG_INVALID', `two handlers for service ${h.service}`);
    handlerNames.add(h.service);
  }
  const name = service.participant?.name;
  if (name === undefined) return;
  const bytes = utf8ByteLength(name);
  if (bytes < 1 || bytes > SERVICE_NAME_BYTES_MAX || registered.some((s) => s.participant?.name === name)) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `participant names must be unique, 1..${SERVICE_NAME_BYTES_MAX} bytes: ${name}`);
  }
}
