/**
 * The contract between the node driver and the services it hosts (the sharding layer,
 * the health monitor, a user's own). The driver owns sockets, timers and the membership
 * machine; a service receives the messages and events it asked for, sends through the
 * context, and waits on the context's timers, so services never touch the transport or
 * the OS clock directly.
 */
import type { Millis } from '../core/clock.js';
import type { Address, MembersViewData, NodeId, Tags } from '../core/model.js';
import type { Logger } from '../core/logger.js';
import type { Channel, Transmit } from '../core/machine.js';
import type { Timers } from '../core/timers.js';
import type { MembershipEvent } from '../membership/events.js';
import type { Message, MessageType } from '../protocol/messages.js';

/** Structured logger (pino-compatible subset). */
export type NodeLogger = Logger;

/** What the driver gives each service. */
export interface NodeContext {
  readonly nodeId: NodeId;
  /** This node's advertised cluster address. */
  readonly address: Address;
  readonly logger: NodeLogger;
  /** Wall-clock time as the driver sees it (the services' only clock). */
  now(): Millis;
  /** The driver's timers: fired in its turns, from its one OS timer. */
  readonly timers: Timers;
  /** Ask for a driver turn soon (something changed outside a turn: `onTurn` should look). */
  wake(): void;
  /** Fire-and-forget send; failures are counted and logged by the driver, never thrown. */
  send(transmit: Transmit<Message>): void;
  /** Request/response over TCP; rejects with a typed FlotillaError (FLO_TIMEOUT, FLO_CONNECTION_FAILED, ...). */
  request(to: Address, message: Message, timeoutMs?: number): Promise<Message>;
  /** The master's members view as this node knows it. */
  membersView(): MembersViewData;
  /** Address of a member by id, from the current view. */
  addressOf(nodeId: NodeId): Address | undefined;
  /** Whether this node is the master of its current view. */
  isMaster(): boolean;
  /** Ask the driver to call `onTick` at (or soon after) `at`; the latest call wins. */
  wakeAt(at: Millis): void;
  /** Sets some of this node's own tags (gossiped to every member; the others are kept). */
  updateTags?(tags: Tags): void;
}

/** A service hosted by the node. */
export interface NodeService {
  /** Unique name, used in logs and metrics. */
  readonly name: string;
  /** Inbound one-way messages routed to this service (each type to exactly one service). */
  readonly messageTypes: readonly MessageType[];
  /** Request types this service answers (each type to exactly one service). */
  readonly requestTypes?: readonly MessageType[];
  /** Called once after the transport is up and before the node joins. */
  start(ctx: NodeContext): Promise<void> | void;
  /** A one-way message of one of `messageTypes`. */
  onMessage(from: Address, message: Message, channel: Channel): void;
  /** A request of one of `requestTypes`; the returned message is the reply. */
  onRequest?(from: Address, message: Message): Promise<Message> | Message;
  /** Every membership event, in order. */
  onMembershipEvent?(event: MembershipEvent): void;
  /** Called when the time asked for with `wakeAt` has come. */
  onTick?(now: Millis): void;
  /** Called once in every driver turn, after inputs and due timers: drain machine outputs here. */
  onTurn?(now: Millis): void;
  /**
   * Graceful leave, before the node leaves the membership: hand over what this node holds
   * (e.g. migrate partitions out). Must settle within `deadline`.
   */
  drain?(deadline: Millis): Promise<void>;
  /** Release resources; called once, last. */
  stop(): Promise<void> | void;
}
