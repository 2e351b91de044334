/**
 * Counters of the membership machine: what it sent and received, how probing went, and
 * every drop at a bound. Plain numbers the node layer exports as metrics; reading them
 * never changes the machine.
 */
import type { MessageType } from '../protocol/messages.js';
import type { SwimContext } from './swim-context.js';

/** Messages and bytes of one message type. */
export interface TrafficCount {
  messages: number;
  bytes: number;
}

/** Protocol-event counters, monotonic over the machine's life. */
export interface SwimCounters {
  probes: number;
  probeFailures: number;
  indirectProbes: number;
  tcpFallbackProbes: number;
  /** Probes whose period stretched past `probeIntervalMs` for a member's longer adaptive timeout. */
  probesStretched: number;
  /** Acks that arrived after their probe's verdict (recorded as round trips all the same). */
  lateAcks: number;
  /** Acks sent back over TCP to a Ping that came over TCP (a peer's fallback probe). */
  tcpAcksSent: number;
  /** Alive claims (and push-pull entries) about never-admitted nodes stripped from inbound messages. */
  rumoursRejected: number;
  nacksReceived: number;
  /** Pings this node ran on behalf of others (PingReq). */
  relays: number;
  suspicions: number;
  /** Suspicions this node raised from its own failed probes. */
  suspicionsRaised: number;
  /** Suspicions this node raised as master because a member's heartbeat phi crossed the threshold. */
  healthSuspicions: number;
  /** Times this node refuted a suspicion (or death) of itself. */
  refutations: number;
  /** Direct Alives sent to members still spreading a suspicion of this node it already refuted. */
  rebuttals: number;
  /** Suspicions of others later refuted (the member came back at a higher incarnation). */
  falseSuspicions: number;
  /** Deaths this node declared (its suspicion timed out). */
  deathsDeclared: number;
  /** Messages telling the members this node still counted whom it no longer counts, sent as it lost its majority. */
  quorumLossTold: number;
  pushPulls: number;
  joinAttempts: number;
  joinsForwarded: number;
  admissions: number;
  viewsPublished: number;
  complaintsSent: number;
  complaintsReceived: number;
  explicitSuspicionsSent: number;
  rejoins: number;
  /** Inputs ignored as stale, misaddressed or from another cluster. */
  ignored: number;
  gossipDropped: number;
  transmitDropped: number;
  eventsDropped: number;
  relaysDropped: number;
  complaintsDropped: number;
  admissionsDropped: number;
  pushPullTruncated: number;
  /** New members refused because `membersMax` was reached. */
  membersRefused: number;
  /** Warnings about members whose clock is off beyond `clockOffsetWarnMs` (rate-limited per member). */
  clockSkewWarnings: number;
  /** Joiners this node refused as master because their clock was off beyond `clockOffsetMaxMs`. */
  clockSkewRefusals: number;
}

/** A snapshot of the machine's statistics. */
export interface SwimStats extends SwimCounters {
  readonly members: { readonly alive: number; readonly suspect: number; readonly dead: number; readonly left: number };
  readonly sent: Readonly<Partial<Record<MessageType, TrafficCount>>>;
  readonly received: Readonly<Partial<Record<MessageType, TrafficCount>>>;
  readonly awarenessScore: number;
  readonly incarnation: number;
  readonly viewVersion: number;
  readonly gossipQueued: number;
  /** The largest clock offset magnitude among the members this node probes, ms. */
  readonly clockOffsetMaxAbsMs: number;
}

/** A fresh set of zeroed counters. */
export function newCounters(): SwimCounters {
  return {
    probes: 0,
    probeFailures: 0,
    indirectProbes: 0,
    tcpFallbackProbes: 0,
    probesStretched: 0,
    lateAcks: 0,
    tcpAcksSent: 0,
    rumoursRejected: 0,
    nacksReceived: 0,
    relays: 0,
    suspicions: 0,
    suspicionsRaised: 0,
    healthSuspicions: 0,
    refutations: 0,
    rebuttals: 0,
    falseSuspicions: 0,
    deathsDeclared: 0,
    quorumLossTold: 0,
    pushPulls: 0,
    joinAttempts: 0,
    joinsForwarded: 0,
    admissions: 0,
    viewsPublished: 0,
    complaintsSent: 0,
    complaintsReceived: 0,
    explicitSuspicionsSent: 0,
    rejoins: 0,
    ignored: 0,
    gossipDropped: 0,
    transmitDropped: 0,
    eventsDropped: 0,
    relaysDropped: 0,
    complaintsDropped: 0,
    admissionsDropped: 0,
    pushPullTruncated: 0,
    membersRefused: 0,
    clockSkewWarnings: 0,
    clockSkewRefusals: 0,
  };
}

/** Per-type message and byte counts in one direction. */
export class TrafficCounter {
  /**
   * Counts in small arrays indexed by type (`typeSlot`), in the order types were first
   * counted: every message sent and received passes here, and a per-node table keyed by
   * string would be one more cold hash lookup each time.
   */
  private readonly slots: number[] = [];
  private readonly types: MessageType[] = [];
  private readonly messages: number[] = [];
  private readonly bytes: number[] = [];

  /** Counts one message of `type` weighing `bytes`. */
  add(type: MessageType, bytes: number): void {
    const slot = typeSlot(type);
    let i = this.slots[slot];
    if (i === undefined) {
      i = this.types.length;
      this.slots[slot] = i;
      this.types.push(type);
      this.messages.push(0);
      this.bytes.push(0);
    }
    this.messages[i]!++;
    this.bytes[i]! += bytes;
  }

  /** A copy of the counts. */
  snapshot(): Partial<Record<MessageType, TrafficCount>> {
    const out: Partial<Record<MessageType, TrafficCount>> = {};
    for (let i = 0; i < this.types.length; i++) out[this.types[i]!] = { messages: this.messages[i]!, bytes: this.bytes[i]! };
    return out;
  }
}

/** Process-wide small integer per message type (there are a few dozen types). */
const TYPE_SLOTS = new Map<MessageType, number>();

function typeSlot(type: MessageType): number {
  let slot = TYPE_SLOTS.get(type);
  if (slot === undefined) {
    slot = TYPE_SLOTS.size;
    TYPE_SLOTS.set(type, slot);
  }
  return slot;
}

/** A snapshot of the machine's statistics. */
export function buildStats(rt: SwimContext, viewVersion: number): SwimStats {
  const m = rt.members;
  return {
    ...rt.counters,
    members: { alive: m.count('alive'), suspect: m.count('suspect'), dead: m.count('dead'), left: m.count('left') },
    sent: rt.sent.snapshot(),
    received: rt.received.snapshot(),
    awarenessScore: rt.awareness.score,
    incarnation: m.self().incarnation,
    viewVersion,
    gossipQueued: rt.gossip.size,
    clockOffsetMaxAbsMs: rt.clockOffsets.maxAbsOffsetMs(),
  };
}
