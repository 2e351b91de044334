/**
 * How far each member's wall clock is from this node's, measured from probe round trips:
 * an Ack carries the answering node's clock, and the member's offset is that reading less
 * this node's clock halfway through the round trip. Last-writer-wins maps order writes by
 * hybrid logical clocks, whose replicas refuse versions beyond the drift bound; a skewed
 * clock is therefore worth a warning long before it reaches that bound. Bounded: a few
 * samples per member, at most `membersMax` members.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { SwimConfig } from './config.js';

/**
 * Samples kept per member. The estimate is the one with the shortest round trip (NTP's
 * clock filter): its error is at most half that round trip, and a delayed Ack on one leg
 * would otherwise pull the estimate by half the delay.
 */
export const CLOCK_OFFSET_SAMPLES_MAX = 8;

/** One measurement of a member's clock offset. */
export interface ClockOffset {
  /** The member's clock minus this node's, ms: positive when the member is ahead. */
  readonly offsetMs: number;
  /** Round trip of the probe it came from, ms; the offset is exact within half of it. */
  readonly rttMs: number;
  /** This node's clock when the Ack arrived. */
  readonly measuredAt: Millis;
}

/**
 * The offset a round trip shows: the remote clock read `remoteAt` between `sentAt` and
 * `receivedAt` (this node's clock), taken as the midpoint. A reply received before it was
 * sent (this node's clock stepped back) has a round trip of 0.
 */
export function estimateOffset(sentAt: Millis, remoteAt: Millis, receivedAt: Millis): { offsetMs: number; rttMs: number } {
  const rttMs = Math.max(0, receivedAt - sentAt);
  return { offsetMs: Math.round(remoteAt - (sentAt + rttMs / 2)), rttMs };
}

/** A member whose clock is off beyond the warning threshold, to report once per interval. */
export interface ClockSkewWarning {
  readonly nodeId: NodeId;
  readonly offset: ClockOffset;
  /** True when the offset is beyond `clockOffsetMaxMs`, the HLC drift bound. */
  readonly beyondBound: boolean;
}

type ClockOffsetConfig = Pick<SwimConfig, 'clockOffsetWarnMs' | 'clockOffsetMaxMs' | 'clockSkewWarnIntervalMs' | 'membersMax'>;

interface MemberClock {
  readonly samples: ClockOffset[];
  best: ClockOffset;
  warnedAt: Millis | undefined;
}

/** Clock offsets of the members this node probes, and when each was last warned about. */
export class ClockOffsets {
  private readonly members = new Map<NodeId, MemberClock>();

  constructor(private readonly config: ClockOffsetConfig) {}

  /** Members with a measured offset. */
  get size(): number {
    return this.members.size;
  }

  /**
   * Records that `nodeId` answered a probe sent at `sentAt` with its clock at `remoteAt`,
   * received at `now`; returns a warning when its offset is beyond `clockOffsetWarnMs`
   * and it was not warned about within `clockSkewWarnIntervalMs`.
   */
  record(nodeId: NodeId, sentAt: Millis, remoteAt: Millis, now: Millis): ClockSkewWarning | undefined {
    const sample: ClockOffset = { ...estimateOffset(sentAt, remoteAt, now), measuredAt: now };
    let clock = this.members.get(nodeId);
    if (clock === undefined) {
      if (this.members.size >= this.config.membersMax) this.members.delete(this.members.keys().next().value as NodeId);
      clock = { samples: [], best: sample, warnedAt: undefined };
      this.members.set(nodeId, clock);
    }
    if (clock.samples.length >= CLOCK_OFFSET_SAMPLES_MAX) clock.samples.shift();
    clock.samples.push(sample);
    clock.best = clock.samples.reduce((a, b) => (b.rttMs < a.rttMs ? b : a));
    const magnitude = Math.abs(clock.best.offsetMs);
    if (magnitude <= this.config.clockOffsetWarnMs) return undefined;
    if (clock.warnedAt !== undefined && now - clock.warnedAt < this.config.clockSkewWarnIntervalMs) return undefined;
    clock.warnedAt = now;
    return { nodeId, offset: clock.best, beyondBound: magnitude > this.config.clockOffsetMaxMs };
  }

  /** The current estimate of `nodeId`'s offset, if it ever answered a probe with its clock. */
  offsetOf(nodeId: NodeId): ClockOffset | undefined {
    return this.members.get(nodeId)?.best;
  }

  /** The largest offset magnitude among the members measured, ms (0 when none). */
  maxAbsOffsetMs(): number {
    let max = 0;
    for (const clock of this.members.values()) max = Math.max(max, Math.abs(clock.best.offsetMs));
    return max;
  }

  /** Forgets `nodeId` (it died or left; a restart may come with another clock). */
  forget(nodeId: NodeId): void {
    this.members.delete(nodeId);
  }
}
