/**
 * Hybrid logical clock (Kulkarni et al., 2014): timestamps that stay close to physical
 * time yet respect causality, so last-writer-wins maps pick the same winner on every
 * replica even when wall clocks disagree a little.
 */
import { assert, FlotillaError } from './errors.js';
import type { Clock, Millis } from './clock.js';
import type { NodeId } from './model.js';

/** One HLC timestamp. Ordered by millis, then counter, then node id (see `compareHlc`). */
export interface HlcTimestamp {
  /** Logical milliseconds: the highest physical time seen, possibly advanced by overflow. */
  readonly millis: Millis;
  /** Events within the same `millis`, in [0, HLC_COUNTER_MAX]. */
  readonly counter: number;
  /** The node that issued the timestamp; breaks ties so the order is total. */
  readonly nodeId: NodeId;
}

/**
 * Largest counter value. One more event in the same millisecond advances `millis`
 * logically instead, so the counter fits 16 bits on the wire and in the string form.
 */
export const HLC_COUNTER_MAX = 0xffff;

/** Largest `millis` (2^48 - 1, the year 10889): fits 12 hex digits in the string form. */
export const HLC_MILLIS_MAX = 2 ** 48 - 1;

/** Options of a `HybridLogicalClock`. */
export interface HlcOptions {
  /**
   * How far (ms) a remote timestamp may be ahead of the local physical clock before
   * `receive` refuses it with FLO_HLC_DRIFT. Default 60,000. Larger tolerates worse NTP
   * but lets one bad clock drag every node's timestamps further into the future (they
   * then win every last-writer-wins merge until real time catches up). `Infinity`
   * disables the check.
   */
  readonly driftMaxMs: number;
}

/** Defaults for `HlcOptions`. */
export const HLC_DEFAULTS: HlcOptions = { driftMaxMs: 60_000 };

/** Total order: -1, 0 or 1 comparing millis, then counter, then node id (code unit order). */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): -1 | 0 | 1 {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

/** Throws FLO_INVALID_ARGUMENT unless `ts` is a well-formed timestamp. */
export function validateHlc(ts: HlcTimestamp): void {
  const ok =
    Number.isInteger(ts.millis) &&
    ts.millis >= 0 &&
    ts.millis <= HLC_MILLIS_MAX &&
    Number.isInteger(ts.counter) &&
    ts.counter >= 0 &&
    ts.counter <= HLC_COUNTER_MAX &&
    typeof ts.nodeId === 'string';
  if (!ok) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed HLC timestamp', { millis: ts.millis, counter: ts.counter });
}

/**
 * Sortable string form `mmmmmmmmmmmm-cccc-nodeId`: millis as 12 lowercase hex digits,
 * counter as 4, then the node id. Plain string comparison of two such strings agrees with
 * `compareHlc`.
 */
export function hlcToString(ts: HlcTimestamp): string {
  validateHlc(ts);
  return `${ts.millis.toString(16).padStart(12, '0')}-${ts.counter.toString(16).padStart(4, '0')}-${ts.nodeId}`;
}

const HLC_STRING = /^([0-9a-f]{12})-([0-9a-f]{4})-([\s\S]*)$/;

/** Parses `hlcToString` output; throws FLO_INVALID_ARGUMENT on anything else. */
export function hlcFromString(text: string): HlcTimestamp {
  const match = HLC_STRING.exec(text);
  if (match === null) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'not an HLC string', { text: text.slice(0, 64) });
  return { millis: parseInt(match[1]!, 16), counter: parseInt(match[2]!, 16), nodeId: match[3]! };
}

/**
 * A hybrid logical clock for one node. `now()` stamps a local or send event; `receive()`
 * merges a timestamp from another node. Every timestamp it returns is strictly greater
 * than all it returned before, even if the physical clock goes backwards.
 */
export class HybridLogicalClock {
  readonly nodeId: NodeId;
  private readonly clock: Clock;
  private readonly driftMaxMs: number;
  private millis: Millis = 0;
  private counter = 0;

  constructor(nodeId: NodeId, clock: Clock, options: Partial<HlcOptions> = {}) {
    const driftMaxMs = options.driftMaxMs ?? HLC_DEFAULTS.driftMaxMs;
    if (typeof driftMaxMs !== 'number' || Number.isNaN(driftMaxMs) || driftMaxMs < 0) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'driftMaxMs must be a non-negative number', { driftMaxMs });
    }
    this.nodeId = nodeId;
    this.clock = clock;
    this.driftMaxMs = driftMaxMs;
  }

  /** The last timestamp issued (millis 0, counter 0 before the first one). */
  last(): HlcTimestamp {
    return { millis: this.millis, counter: this.counter, nodeId: this.nodeId };
  }

  /** Timestamp for a local or send event. */
  now(): HlcTimestamp {
    const physical = this.physicalNow();
    if (physical > this.millis) {
      this.millis = physical;
      this.counter = 0;
    } else {
      this.bump(this.millis, this.counter);
    }
    return this.last();
  }

  /**
   * Merges `remote` (a receive event) and returns the timestamp of that event, greater
   * than both `remote` and every timestamp issued before. Throws FLO_HLC_DRIFT, leaving
   * the clock unchanged, when `remote` is more than `driftMaxMs` ahead of physical time.
   */
  receive(remote: HlcTimestamp): HlcTimestamp {
    validateHlc(remote);
    const physical = this.physicalNow();
    if (remote.millis - physical > this.driftMaxMs) {
      throw new FlotillaError('FLO_HLC_DRIFT', `remote ${remote.nodeId} is ${remote.millis - physical} ms ahead`, {
        remoteMillis: remote.millis,
        physicalMillis: physical,
        driftMaxMs: this.driftMaxMs,
      });
    }
    const top = Math.max(this.millis, remote.millis, physical);
    if (top === this.millis && top === remote.millis) {
      this.bump(top, Math.max(this.counter, remote.counter));
    } else if (top === this.millis) {
      this.bump(top, this.counter);
    } else if (top === remote.millis) {
      this.bump(top, remote.counter);
    } else {
      this.millis = top;
      this.counter = 0;
    }
    return this.last();
  }

  // Sets the state to (millis, counter + 1), carrying into millis on counter overflow.
  private bump(millis: Millis, counter: number): void {
    if (counter >= HLC_COUNTER_MAX) {
      assert(millis < HLC_MILLIS_MAX, 'HLC millis overflow');
      this.millis = millis + 1;
      this.counter = 0;
    } else {
      this.millis = millis;
      this.counter = counter + 1;
    }
  }

  private physicalNow(): Millis {
    const t = Math.floor(this.clock.now());
    assert(Number.isFinite(t) && t >= 0 && t <= HLC_MILLIS_MAX, 'clock returned a time outside [0, HLC_MILLIS_MAX]');
    return t;
  }
}
