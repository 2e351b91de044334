/**
 * SWIM failure detection: one probe per protocol period on the shuffled round-robin
 * order; no Ack within the probe timeout -> PingReq through K helpers (and a TCP Ping
 * through the transport's fallback); still no Ack by the end of the period -> Suspect.
 * Also runs the indirect probes other nodes ask of this one, relaying the Ack or
 * answering with a Nack. Both the period and the timeout are stretched by local health.
 */
import type { Millis } from '../core/clock.js';
import type { Channel } from '../core/machine.js';
import type { Address, NodeId } from '../core/model.js';
import type { Ack, GossipUpdate, Nack, Ping, PingReq } from '../protocol/messages.js';
import { failedProbeAwarenessDelta } from './awareness.js';
import type { MemberEntry } from './member-list.js';
import type { SwimContext } from './swim-context.js';
import { earlier } from './swim-context.js';
import type { Transitions } from './transitions.js';

/**
 * A helper's indirect probe waits this fraction of the probe timeout before answering
 * with a Nack (Lifeguard's 80 %), so the Nack reaches the prober within its period: the
 * prober asks at `probeTimeoutMs` and decides at `probeIntervalMs`.
 */
export const NACK_TIMEOUT_FRACTION = 0.8;

/** Nodes the master may ask to have probed out of turn (complaints). */
export const PRIORITY_PROBES_MAX = 16;

interface ActiveProbe {
  readonly seqNo: number;
  readonly target: NodeId;
  readonly address: Address;
  readonly incarnation: number;
  readonly timeoutAt: Millis;
  indirectSent: boolean;
  acked: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly requester: Address;
  readonly originalSeqNo: number;
  readonly target: NodeId;
  readonly wantNack: boolean;
  readonly deadline: Millis;
}

/** Called when this node's own probe of `target` failed and it began suspecting it. */
export type ProbeFailureListener = (target: NodeId, now: Millis) => void;

/** The probing half of SWIM. */
export class Prober {
  private seqNo = 0;
  private probe: ActiveProbe | undefined;
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
    this.probe = undefined;
    this.relays.clear();
  }

  /** Probe `nodeId` at the start of the next period, ahead of the round-robin order. */
  probeSoon(nodeId: NodeId): void {
    if (this.priorityTargets.includes(nodeId) || this.priorityTargets.length >= PRIORITY_PROBES_MAX) return;
    this.priorityTargets.push(nodeId);
  }

  /** Earliest time this component has work. */
  nextDeadline(): Millis | undefined {
    const probe = this.probe;
    const indirectAt = probe !== undefined && !probe.acked && !probe.indirectSent ? probe.timeoutAt : undefined;
    const firstRelayAt = this.relays.size === 0 ? undefined : this.relays.values().next().value?.deadline;
    return earlier(earlier(this.nextProbeAt, indirectAt), firstRelayAt);
  }

  tick(now: Millis): void {
    this.expireRelays(now);
    const probe = this.probe;
    if (probe !== undefined && !probe.acked && !probe.indirectSent && now >= probe.timeoutAt) this.sendIndirect(probe);
    if (this.nextProbeAt !== undefined && now >= this.nextProbeAt) {
      if (this.probe !== undefined) this.finish(this.probe, now);
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
  onPing(from: Address, ping: Ping, accused = false, channel: Channel = 'udp'): void {
    if (ping.target !== this.rt.selfId) {
      // Meant for a previous owner of this address.
      this.rt.counters.ignored++;
      return;
    }
    const base: Ack = { type: 'Ack', seqNo: ping.seqNo, from: this.rt.selfId, updates: [] };
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
    this.relays.set(seqNo, {
      requester: from,
      originalSeqNo: req.seqNo,
      target: req.target,
      wantNack: req.wantNack,
      deadline: now + Math.floor(this.rt.config.probeTimeoutMs * NACK_TIMEOUT_FRACTION),
    });
    this.rt.counters.relays++;
    const base: Ping = { type: 'Ping', seqNo, from: this.rt.selfId, target: req.target, updates: [] };
    this.rt.sendWithGossip(req.targetAddress, base);
  }

  /** An Ack: completes this node's probe, or is relayed to whoever asked for it. */
  onAck(ack: Ack): void {
    const relay = this.relays.get(ack.seqNo);
    if (relay !== undefined) {
      this.relays.delete(ack.seqNo);
      const base: Ack = { type: 'Ack', seqNo: relay.originalSeqNo, from: relay.target, updates: [] };
      this.rt.sendWithGossip(relay.requester, base);
      return;
    }
    const probe = this.probe;
    if (probe === undefined || probe.seqNo !== ack.seqNo || probe.acked) {
      this.rt.counters.ignored++;
      return;
    }
    probe.acked = true;
    this.rt.awareness.applyDelta(-1);
  }

  /** A helper could not reach the target either. */
  onNack(nack: Nack): void {
    const probe = this.probe;
    if (probe === undefined || probe.seqNo !== nack.seqNo || probe.acked) return;
    probe.nacks++;
    this.rt.counters.nacksReceived++;
  }

  private startProbe(now: Millis): void {
    const { config, awareness } = this.rt;
    this.probe = undefined;
    this.nextProbeAt = now + awareness.scale(config.probeIntervalMs);
    const entry = this.pickTarget();
    if (entry === undefined) return;
    const target = entry.nodeId;
    const seqNo = ++this.seqNo;
    this.probe = {
      seqNo,
      target,
      address: entry.address,
      incarnation: entry.incarnation,
      timeoutAt: now + awareness.scale(config.probeTimeoutMs),
      indirectSent: false,
      acked: false,
      expectedNacks: 0,
      nacks: 0,
    };
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
    this.probe = undefined;
    if (probe.acked) return;
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

  private expireRelays(now: Millis): void {
    for (const [seqNo, relay] of this.relays) {
      if (relay.deadline > now) break;
      this.relays.delete(seqNo);
      if (relay.wantNack) this.rt.send(relay.requester, { type: 'Nack', seqNo: relay.originalSeqNo, from: this.rt.selfId });
    }
  }
}
