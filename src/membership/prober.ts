/**
 * SWIM failure detection: one probe per protocol period on the shuffled round-robin
 * order; no Ack within the probe timeout -> PingReq through K helpers (and a TCP Ping
 * through the transport's fallback); still no Ack when the verdict is due -> Suspect.
 * Timeouts adapt to each member's observed round trips (`round-trips.ts`): the verdict
 * comes at the member's timeout plus the indirect window, so a member on a slow link is
 * given longer while the next probes start on time (probes overlap). Helpers are asked
 * no later than `probeTimeoutMs` (their own paths may be fast), each Nacks by its own
 * learned timeout for the target, and when every helper Nacked the verdict comes at once.
 * Also runs the indirect probes other nodes ask of this one, relaying the Ack or
 * answering with a Nack. Both the period and the timeout are stretched by local health.
 */
import type { Millis } from '../core/clock.js';
import type { Channel } from '../core/machine.js';
import type { Address, NodeId } from '../core/model.js';
import type { Ack, GossipUpdate, Nack, Ping, PingReq } from '../protocol/messages.js';
import { failedProbeAwarenessDelta } from './awareness.js';
import type { MemberEntry } from './member-list.js';
import { probeTimeoutBounds } from './round-trips.js';
import type { SwimContext } from './swim-context.js';
import { earlier } from './swim-context.js';
import type { Transitions } from './transitions.js';

/**
 * A helper's indirect probe waits this fraction of its timeout for the target before
 * answering with a Nack (Lifeguard's 80 %), so the Nack reaches the prober before its
 * verdict: the prober asks at its timeout and decides one indirect window later.
 */
export const NACK_TIMEOUT_FRACTION = 0.8;

/** Own probes awaiting their verdict at once; past it the oldest gets its verdict early. */
export const PROBES_IN_FLIGHT_MAX = 16;

/** Finished probes remembered so that their late Acks still count as round trips. */
export const FINISHED_PROBES_KEPT = 8;

/** Nodes the master may ask to have probed out of turn (complaints). */
export const PRIORITY_PROBES_MAX = 16;

interface ActiveProbe {
  readonly seqNo: number;
  readonly target: NodeId;
  readonly address: Address;
  readonly incarnation: number;
  readonly sentAt: Millis;
  /** When the helpers are asked (PingReq) if no Ack came. */
  readonly timeoutAt: Millis;
  /** When an unanswered probe makes the target suspect (sooner once every helper Nacked). */
  verdictAt: Millis;
  indirectSent: boolean;
  acked: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly requester: Address;
  readonly originalSeqNo: number;
  readonly target: NodeId;
  readonly sentAt: Millis;
  /** When a requester that wants one gets a Nack; cleared once sent. */
  nackAt: Millis | undefined;
  /** Until when a late Ack is still relayed (the requester may wait that long). */
  readonly expiresAt: Millis;
}

/** A finished probe, kept so that an Ack arriving after the verdict still counts as a round trip. */
interface FinishedProbe {
  readonly seqNo: number;
  readonly target: NodeId;
  readonly sentAt: Millis;
}

/** Called when this node's own probe of `target` failed and it began suspecting it. */
export type ProbeFailureListener = (target: NodeId, now: Millis) => void;

/** The probing half of SWIM. */
export class Prober {
  private seqNo = 0;
  /** Own probes awaiting their verdict, oldest first (bounded by PROBES_IN_FLIGHT_MAX). */
  private readonly probes: ActiveProbe[] = [];
  private readonly finished: FinishedProbe[] = [];
  private nextProbeAt: Millis | undefined;
  /** Indirect probes run for others, in creation (and so deadline) order. */
  private readonly relays = new Map<number, Relay>();
  private readonly priorityTargets: NodeId[] = [];
  private lastProbeable: MemberEntry | undefined;

  constructor(
    private readonly rt: SwimContext,
    private readonly transitions: Transitions,
    private readonly onProbeFailed: ProbeFailureListener,
  ) {}

  /** Starts probing, the first probe at a random offset within one period. */
  start(now: Millis): void {
    if (this.nextProbeAt !== undefined) return;
    this.nextProbeAt = now + this.rt.random.int(this.rt.config.probeIntervalMs);
  }

  /** Stops probing; relays in flight are dropped. */
  stop(): void {
    this.nextProbeAt = undefined;
    this.probes.length = 0;
    this.finished.length = 0;
    this.relays.clear();
  }

  /** Probe `nodeId` at the start of the next period, ahead of the round-robin order. */
  probeSoon(nodeId: NodeId): void {
    if (this.priorityTargets.includes(nodeId) || this.priorityTargets.length >= PRIORITY_PROBES_MAX) return;
    this.priorityTargets.push(nodeId);
  }

  /** Earliest time this component has work. */
  nextDeadline(): Millis | undefined {
    let at = earlier(this.nextProbeAt, this.nextRelayDeadline());
    for (const probe of this.probes) {
      at = earlier(at, probe.verdictAt);
      if (!probe.acked && !probe.indirectSent) at = earlier(at, probe.timeoutAt);
    }
    return at;
  }

  tick(now: Millis): void {
    this.expireRelays(now);
    for (let i = 0; i < this.probes.length; ) {
      const probe = this.probes[i]!;
      if (!probe.acked && !probe.indirectSent && now >= probe.timeoutAt) this.sendIndirect(probe);
      if (now >= probe.verdictAt) {
        this.probes.splice(i, 1);
        this.finish(probe, now);
      } else {
        i++;
      }
    }
    if (this.nextProbeAt !== undefined && now >= this.nextProbeAt) {
      if (this.probes.length >= PROBES_IN_FLIGHT_MAX) this.finish(this.probes.shift()!, now);
      this.startProbe(now);
    }
  }

  /**
   * A direct probe of this node: answer with an Ack carrying gossip, on the channel the
   * Ping came on (a Ping over TCP is the prober's fallback after its UDP probe failed,
   * so a UDP Ack could be lost the same way). When the Ping `accused` this node (a
   * Suspect or Dead about it), the Ack leads with this node's current Alive, so a prober
   * that missed the refutation learns it from its own probe.
   */
  onPing(from: Address, ping: Ping, now: Millis, accused = false, channel: Channel = 'udp'): void {
    if (ping.target !== this.rt.selfId) {
      // Meant for a previous owner of this address.
      this.rt.counters.ignored++;
      return;
    }
    // This node's clock rides on the Ack: the prober learns the offset from its round trip.
    // Whole ms on the wire (a simulator's clock may carry fractions).
    const base: Ack = { type: 'Ack', seqNo: ping.seqNo, from: this.rt.selfId, updates: [], sentAt: Math.floor(now) };
    const prefix: GossipUpdate[] = [];
    if (accused && !this.transitions.leaving) prefix.push(this.transitions.selfAlive());
    // A member this node suspects or holds dead is told so on the Ack, so it refutes at once.
    const { members } = this.rt;
    const sender = members.count('suspect') + members.count('dead') === 0 ? undefined : members.get(ping.from);
    if (sender !== undefined && (sender.state === 'dead' || sender.state === 'suspect')) {
      prefix.push({ type: 'Suspect', node: ping.from, incarnation: sender.incarnation, from: this.rt.selfId });
    }
    if (channel === 'tcp') this.rt.counters.tcpAcksSent++;
    this.rt.sendWithGossip(from, base, prefix, false, channel);
  }

  /** Another node asks this one to probe `req.target` for it. */
  onPingReq(from: Address, req: PingReq, now: Millis): void {
    if (req.target === this.rt.selfId) {
      const base: Ack = { type: 'Ack', seqNo: req.seqNo, from: this.rt.selfId, updates: [] };
      this.rt.sendWithGossip(from, base);
      return;
    }
    if (this.relays.size >= this.rt.config.relaysPendingMax) {
      const oldest = this.relays.keys().next().value as number;
      this.relays.delete(oldest);
      this.rt.counters.relaysDropped++;
    }
    const seqNo = ++this.seqNo;
    const { maxMs } = probeTimeoutBounds(this.rt.config);
    this.relays.set(seqNo, {
      requester: from,
      originalSeqNo: req.seqNo,
      target: req.target,
      sentAt: now,
      // Nack once the target is late by this helper's own record of it (its adaptive timeout).
      nackAt: req.wantNack ? now + Math.floor(this.rt.roundTrips.timeoutFor(req.target) * NACK_TIMEOUT_FRACTION) : undefined,
      // The requester may wait up to the longest adaptive timeout for a slow target.
      expiresAt: now + Math.floor(maxMs * NACK_TIMEOUT_FRACTION),
    });
    this.rt.counters.relays++;
    const base: Ping = { type: 'Ping', seqNo, from: this.rt.selfId, target: req.target, updates: [] };
    this.rt.sendWithGossip(req.targetAddress, base);
  }

  /** An Ack: completes this node's probe (a round trip), or is relayed to whoever asked for it. */
  onAck(ack: Ack, now: Millis): void {
    const relay = this.relays.get(ack.seqNo);
    if (relay !== undefined) {
      this.relays.delete(ack.seqNo);
      // This node's own Ping went there and back: a round trip like any other.
      this.rt.roundTrips.record(relay.target, now - relay.sentAt);
      const base: Ack = { type: 'Ack', seqNo: relay.originalSeqNo, from: relay.target, updates: [] };
      this.rt.sendWithGossip(relay.requester, base);
      return;
    }
    const probe = this.probes.find((p) => p.seqNo === ack.seqNo);
    const lateAt = probe === undefined ? this.finished.findIndex((f) => f.seqNo === ack.seqNo) : -1;
    if (lateAt >= 0) {
      // Answered after the verdict: the round trip is what the next timeout must allow for.
      const late = this.finished.splice(lateAt, 1)[0]!;
      this.rt.counters.lateAcks++;
      this.rt.roundTrips.record(late.target, now - late.sentAt);
      this.noteClock(late.target, late.sentAt, ack, now);
      return;
    }
    if (probe === undefined || probe.acked) {
      this.rt.counters.ignored++;
      return;
    }
    probe.acked = true;
    this.rt.roundTrips.record(probe.target, now - probe.sentAt);
    this.noteClock(probe.target, probe.sentAt, ack, now);
    this.rt.awareness.applyDelta(-1);
  }

  /** An Ack of `target` to a probe sent at `sentAt` carried its clock: one offset sample. */
  private noteClock(target: NodeId, sentAt: Millis, ack: Ack, now: Millis): void {
    // A relayed Ack carries no clock; an Ack from another node than probed says nothing of the target's.
    if (ack.sentAt === undefined || ack.from !== target) return;
    const warning = this.rt.clockOffsets.record(target, sentAt, ack.sentAt, now);
    if (warning === undefined) return;
    this.rt.counters.clockSkewWarnings++;
    const { offsetMs, rttMs } = warning.offset;
    const address = this.rt.members.get(target)?.address;
    const boundMs = this.rt.config.clockOffsetMaxMs;
    this.rt.emit({ type: 'ClockSkewDetected', at: now, nodeId: target, address, offsetMs, rttMs, boundMs, beyondBound: warning.beyondBound });
  }

  /** A helper could not reach the target either. */
  onNack(nack: Nack, now: Millis): void {
    const probe = this.probes.find((p) => p.seqNo === nack.seqNo);
    if (probe === undefined || probe.acked) return;
    probe.nacks++;
    this.rt.counters.nacksReceived++;
    // Every helper, each judging by its own round trips to the target, heard nothing in
    // time: the verdict need not wait for this node's own (slower) path.
    if (probe.nacks >= probe.expectedNacks && now < probe.verdictAt) probe.verdictAt = now;
  }

  private startProbe(now: Millis): void {
    const { config, awareness } = this.rt;
    this.nextProbeAt = now + awareness.scale(config.probeIntervalMs);
    const entry = this.pickTarget();
    if (entry === undefined) return;
    const target = entry.nodeId;
    const seqNo = ++this.seqNo;
    const timeoutMs = this.rt.roundTrips.timeoutFor(target);
    // The whole indirect window follows the timeout, whatever its length: the verdict moves with it.
    const verdictMs = timeoutMs + config.probeIntervalMs - config.probeTimeoutMs;
    if (verdictMs > config.probeIntervalMs) this.rt.counters.probesStretched++;
    this.probes.push({
      seqNo,
      target,
      address: entry.address,
      incarnation: entry.incarnation,
      sentAt: now,
      // Helpers are asked no later than the configured timeout: their paths may be fast even when this node's is slow.
      timeoutAt: now + awareness.scale(Math.min(timeoutMs, config.probeTimeoutMs)),
      verdictAt: now + awareness.scale(verdictMs),
      indirectSent: false,
      acked: false,
      expectedNacks: 0,
      nacks: 0,
    });
    this.rt.counters.probes++;
    const base: Ping = { type: 'Ping', seqNo, from: this.rt.selfId, target, updates: [] };
    // A suspect hears of its suspicion on the probe itself, so it can refute at once.
    const prefix = entry.state === 'alive' ? undefined : [{ type: 'Suspect' as const, node: target, incarnation: entry.incarnation, from: this.rt.selfId }];
    this.rt.sendWithGossip(entry.address, base, prefix);
  }

  /**
   * Whether `id` is another member alive or suspect (made once: it runs for every probe).
   * Remembers the entry it accepted last, which is the one the probe order returns.
   */
  private readonly probeable = (id: NodeId): boolean => {
    const entry = this.probeableEntry(id);
    if (entry === undefined) return false;
    this.lastProbeable = entry;
    return true;
  };

  /** The entry of `id` when it is another member alive or suspect. */
  private probeableEntry(id: NodeId): MemberEntry | undefined {
    const entry = this.rt.members.get(id);
    return entry !== undefined && id !== this.rt.selfId && (entry.state === 'alive' || entry.state === 'suspect') ? entry : undefined;
  }

  private pickTarget(): MemberEntry | undefined {
    while (this.priorityTargets.length > 0) {
      const entry = this.probeableEntry(this.priorityTargets.shift()!);
      if (entry !== undefined) return entry;
    }
    this.lastProbeable = undefined;
    const id = this.rt.probeOrder.next(this.probeable, this.probeable);
    const entry = this.lastProbeable as MemberEntry | undefined;
    return id !== undefined && entry?.nodeId === id ? entry : undefined;
  }

  private sendIndirect(probe: ActiveProbe): void {
    probe.indirectSent = true;
    this.rt.counters.indirectProbes++;
    const helpers = this.rt.members.randomMembers(this.rt.config.indirectChecks, this.rt.random, (e) => e.state === 'alive' && e.nodeId !== probe.target);
    for (const helper of helpers) {
      const base: PingReq = {
        type: 'PingReq',
        seqNo: probe.seqNo,
        from: this.rt.selfId,
        target: probe.target,
        targetAddress: probe.address,
        wantNack: true,
        updates: [],
      };
      this.rt.sendWithGossip(helper.address, base);
    }
    probe.expectedNacks = helpers.length;
    if (this.rt.config.tcpFallbackProbe) {
      this.rt.counters.tcpFallbackProbes++;
      this.rt.send(probe.address, { type: 'Ping', seqNo: probe.seqNo, from: this.rt.selfId, target: probe.target, updates: [] }, 'tcp');
    }
  }

  private finish(probe: ActiveProbe, now: Millis): void {
    if (probe.acked) return;
    if (this.finished.length >= FINISHED_PROBES_KEPT) this.finished.shift();
    this.finished.push({ seqNo: probe.seqNo, target: probe.target, sentAt: probe.sentAt });
    this.rt.counters.probeFailures++;
    this.rt.awareness.applyDelta(failedProbeAwarenessDelta(probe.expectedNacks, probe.nacks));
    const entry = this.rt.members.get(probe.target);
    if (entry === undefined || (entry.state !== 'alive' && entry.state !== 'suspect')) return;
    const wasAlive = entry.state === 'alive';
    this.transitions.applySuspect({ type: 'Suspect', node: probe.target, incarnation: probe.incarnation, from: this.rt.selfId }, now);
    if (wasAlive && entry.state === 'suspect') {
      this.rt.counters.suspicionsRaised++;
      this.onProbeFailed(probe.target, now);
    }
  }

  /**
   * Nacks the relays whose Nack is due and forgets those past their expiry. Nack times
   * differ per target, so every relay is looked at (at most `relaysPendingMax`).
   */
  private expireRelays(now: Millis): void {
    for (const [seqNo, relay] of this.relays) {
      if (relay.expiresAt <= now) {
        this.relays.delete(seqNo);
        this.sendNack(relay);
        continue;
      }
      if (relay.nackAt !== undefined && relay.nackAt <= now) this.sendNack(relay);
    }
  }

  private sendNack(relay: Relay): void {
    if (relay.nackAt === undefined) return;
    relay.nackAt = undefined;
    this.rt.send(relay.requester, { type: 'Nack', seqNo: relay.originalSeqNo, from: this.rt.selfId });
  }

  /** The earliest Nack or expiry among the relays. */
  private nextRelayDeadline(): Millis | undefined {
    let at: Millis | undefined;
    for (const relay of this.relays.values()) at = earlier(earlier(at, relay.expiresAt), relay.nackAt);
    return at;
  }
}
