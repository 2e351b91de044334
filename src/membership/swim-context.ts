/**
 * The context every part of the membership machine shares: configuration, randomness, the
 * member list, the gossip queue, local health, counters, and the two bounded output
 * queues. Sending goes through here so that every message is counted, gets its channel,
 * and picks up piggybacked gossip within the byte budget in one place.
 */
import type { Millis } from '../core/clock.js';
import type { Channel, Transmit } from '../core/machine.js';
import type { Address, NodeId, NodeInfo } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { GossipUpdate, Message, MessageType } from '../protocol/messages.js';
import { DATAGRAM_MESSAGE_TYPES } from '../protocol/type-codes.js';
import { Awareness } from './awareness.js';
import { BoundedQueue } from '../core/bounded-queue.js';
import { GOSSIP_MESSAGE_BYTES_LIMIT, GOSSIP_MESSAGE_BYTES_MIN, type SwimConfig } from './config.js';
import type { MembershipEvent } from './events.js';
import { GossipQueue, retransmitLimit, type QueuedUpdate } from './gossip-queue.js';
import { MemberList } from './member-list.js';
import { ProbeOrder } from './probe-order.js';
import { Rebuttals } from './rebuttals.js';
import { ClockOffsets } from './clock-offsets.js';
import { RoundTrips } from './round-trips.js';
import type { MessageSizer, UpdateSizer } from './size.js';
import { newCounters, TrafficCounter, type SwimCounters } from './stats.js';

/**
 * Bytes reserved on top of a message's empty-updates size: the updates array header
 * grows from 1 to 3 bytes past 15 entries in msgpack, plus slack.
 */
const UPDATES_ARRAY_SLACK_BYTES = 4;

const NO_UPDATES: readonly GossipUpdate[] = Object.freeze([]);

/** Membership messages that travel over TCP; the others are datagrams. */
const TCP_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'PushPull',
  'JoinRequest',
  'JoinResponse',
  'MembersUpdate',
  'LeaveRequest',
  'Heartbeat',
  'HeartbeatComplaint',
  'ExplicitSuspicion',
  'SplitBrainProbe',
  'SplitBrainProbeResponse',
  'MergeRequest',
]);

/** Every message type the membership machine consumes: its datagrams and its TCP messages. */
export const MEMBERSHIP_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([...DATAGRAM_MESSAGE_TYPES, ...TCP_TYPES]);

/** The channel a message type travels on. */
export function channelOf(type: MessageType): Channel {
  return TCP_TYPES.has(type) ? 'tcp' : 'udp';
}

/** Observer of piggybacked updates, told which updates went to which address. */
export type PiggybackObserver = (to: Address, picked: readonly QueuedUpdate[]) => void;

/** Shared state and output of one membership machine. */
export class SwimContext {
  readonly members: MemberList;
  readonly gossip: GossipQueue;
  readonly awareness: Awareness;
  readonly probeOrder: ProbeOrder;
  readonly rebuttals: Rebuttals;
  /** Round trips of this node's probes, per member, and the adaptive timeouts they earn. */
  readonly roundTrips: RoundTrips;
  /** Clock offsets of the members this node probes, from the same round trips. */
  readonly clockOffsets: ClockOffsets;
  readonly counters: SwimCounters = newCounters();
  readonly sent = new TrafficCounter();
  readonly received = new TrafficCounter();
  private readonly outbox: BoundedQueue<Transmit<Message>>;
  private readonly events: BoundedQueue<MembershipEvent>;
  private datagramBudgetBytes: number;
  private transmitLimitFor = -1;
  private transmitLimitCached = 0;
  /** Set while a graceful leave wants to know where its announcement went. */
  piggybackObserver: PiggybackObserver | undefined;

  constructor(
    readonly self: NodeInfo,
    readonly clusterId: string,
    readonly config: SwimConfig,
    readonly random: Random,
    readonly sizeOfUpdate: UpdateSizer,
    readonly sizeOfMessage: MessageSizer,
  ) {
    this.members = new MemberList(self.nodeId, config.tombstoneMs);
    this.gossip = new GossipQueue(config.gossipQueueMax, sizeOfUpdate);
    this.awareness = new Awareness(config.awarenessScoreMax);
    this.probeOrder = new ProbeOrder(random);
    this.rebuttals = new Rebuttals(config.rebuttalIntervalMs);
    this.roundTrips = new RoundTrips(config);
    this.clockOffsets = new ClockOffsets(config);
    this.outbox = new BoundedQueue(config.transmitQueueMax);
    this.events = new BoundedQueue(config.eventQueueMax);
    this.datagramBudgetBytes = config.gossipMessageBytesMax;
  }

  /** This node's id. */
  get selfId(): NodeId {
    return this.self.nodeId;
  }

  /** Byte budget of one message carrying gossip. */
  get messageBudgetBytes(): number {
    return this.datagramBudgetBytes;
  }

  /** Lowers (or restores) the per-message byte budget, within the configured maximum. */
  setMessageBudget(bytes: number): void {
    const floor = Math.min(GOSSIP_MESSAGE_BYTES_MIN, this.config.gossipMessageBytesMax);
    this.datagramBudgetBytes = Math.max(floor, Math.min(bytes, this.config.gossipMessageBytesMax, GOSSIP_MESSAGE_BYTES_LIMIT));
  }

  /** Times each update is sent, for the current cluster size. */
  transmitLimit(): number {
    const n = this.members.liveCount;
    if (n !== this.transmitLimitFor) {
      this.transmitLimitFor = n;
      this.transmitLimitCached = retransmitLimit(this.config.retransmitMult, n);
    }
    return this.transmitLimitCached;
  }

  /**
   * Queues `message` to `to` on its channel (or `channel` when given), counting it;
   * `sizeBytes` saves measuring a message whose size is already known.
   */
  send(to: Address, message: Message, channel: Channel = channelOf(message.type), sizeBytes?: number): void {
    if (this.outbox.size === this.outbox.capacityMax) this.counters.transmitDropped++;
    this.outbox.push({ to, channel, message });
    this.sent.add(message.type, sizeBytes ?? this.sizeOfMessage(message));
  }

  /**
   * Sends `base` to `to` with the `prefix` updates and as much queued gossip as fits the
   * count and byte budgets after the message's own bytes. With `onlyWithUpdates`, sends
   * nothing (and returns undefined) when no update fits. `channel` overrides the type's
   * own (an Ack answers a Ping on the channel the Ping came on).
   */
  sendWithGossip<M extends Extract<Message, { updates: readonly GossipUpdate[] }>>(
    to: Address,
    base: M,
    prefix: readonly GossipUpdate[] = NO_UPDATES,
    onlyWithUpdates = false,
    channel: Channel = channelOf(base.type),
  ): M | undefined {
    const baseBytes = this.sizeOfMessage(base);
    if (prefix.length === 0 && this.gossip.size === 0) {
      // Nothing to add (the usual case in a quiet cluster): send the base as it is.
      if (onlyWithUpdates) return undefined;
      this.send(to, base, channel, baseBytes);
      return base;
    }
    let prefixBytes = 0;
    for (const update of prefix) prefixBytes += this.sizeOfUpdate(update);
    const countMax = this.config.gossipUpdatesPerMessageMax - prefix.length;
    const bytesMax = this.messageBudgetBytes - baseBytes - prefixBytes - UPDATES_ARRAY_SLACK_BYTES;
    // A queued update about a node the prefix already speaks for would only repeat it.
    const excludeKeys = prefix.length === 0 ? undefined : prefix.map((u) => u.node);
    const picked = this.gossip.take({ transmitLimit: this.transmitLimit(), countMax, bytesMax, excludeKeys });
    if (onlyWithUpdates && picked.length === 0 && prefix.length === 0) return undefined;
    if (picked.length > 0 && this.piggybackObserver !== undefined) this.piggybackObserver(to, picked);
    let updates: GossipUpdate[] = [...prefix];
    let bytes = baseBytes + prefixBytes;
    if (picked.length > 0) {
      updates = updates.concat(picked.map((entry) => entry.update));
      for (const entry of picked) bytes += entry.sizeBytes;
    }
    const message = { ...base, updates };
    this.send(to, message, channel, updates.length > 15 ? bytes + UPDATES_ARRAY_SLACK_BYTES : bytes);
    return message;
  }

  /** Counts an inbound message. */
  countReceived(message: Message): void {
    this.received.add(message.type, this.sizeOfMessage(message));
  }

  /** Next message to send, if any. */
  pollTransmit(): Transmit<Message> | undefined {
    return this.outbox.shift();
  }

  /** Queues an event for the owner, dropping the oldest when full. */
  emit(event: MembershipEvent): void {
    if (this.events.size === this.events.capacityMax) this.counters.eventsDropped++;
    this.events.push(event);
  }

  /** Next event, if any. */
  pollEvent(): MembershipEvent | undefined {
    return this.events.shift();
  }

  /** Drops counted at the bounded queues, folded into the counters. */
  syncDropCounters(): void {
    this.counters.gossipDropped = this.gossip.dropped;
  }
}

/** The earlier of two optional deadlines (undefined means none). */
export function earlier(a: Millis | undefined, b: Millis | undefined): Millis | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}
