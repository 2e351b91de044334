// Hybrid logical clock: send and receive rules, counter overflow, drift refusal, the
// sortable string form, and strict monotonicity under any interleaving and clock jumps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { isFlotillaError } from '../../src/core/errors.js';
import {
  compareHlc,
  HLC_COUNTER_MAX,
  hlcFromString,
  hlcToString,
  HybridLogicalClock,
  type HlcTimestamp,
} from '../../src/core/hlc.js';

/** A clock tests can move in either direction, unlike ManualClock. */
class JumpyClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
}

const ts = (millis: number, counter: number, nodeId = 'remote'): HlcTimestamp => ({ millis, counter, nodeId });
const pair = (t: HlcTimestamp): [number, number] => [t.millis, t.counter];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'not a FlotillaError';
  }
  return undefined;
}

/** A clock whose last issued timestamp is (millis, counter), millis > 0. */
function clockAt(millis: number, counter: number): { clock: JumpyClock; hlc: HybridLogicalClock } {
  const clock = new JumpyClock(millis);
  const hlc = new HybridLogicalClock('local', clock, { driftMaxMs: Number.POSITIVE_INFINITY });
  if (counter === 0) hlc.now();
  else hlc.receive(ts(millis, counter - 1, 'seed'));
  expect(pair(hlc.last())).toEqual([millis, counter]);
  return { clock, hlc };
}

describe('now()', () => {
  it('follows physical time and counts within a millisecond', () => {
    const clock = new JumpyClock(100);
    const hlc = new HybridLogicalClock('n1', clock);
    expect(hlc.now()).toEqual({ millis: 100, counter: 0, nodeId: 'n1' });
    expect(pair(hlc.now())).toEqual([100, 1]);
    clock.t = 101.7;
    expect(pair(hlc.now())).toEqual([101, 0]);
  });

  it('stays monotonic when the physical clock goes backwards', () => {
    const clock = new JumpyClock(100);
    const hlc = new HybridLogicalClock('n1', clock);
    hlc.now();
    clock.t = 50;
    expect(pair(hlc.now())).toEqual([100, 1]);
    expect(pair(hlc.now())).toEqual([100, 2]);
    clock.t = 100;
    expect(pair(hlc.now())).toEqual([100, 3]);
    clock.t = 101;
    expect(pair(hlc.now())).toEqual([101, 0]);
  });

  it('advances millis logically when the counter overflows', () => {
    const { hlc } = clockAt(10, HLC_COUNTER_MAX - 1);
    expect(pair(hlc.now())).toEqual([10, HLC_COUNTER_MAX]);
    expect(pair(hlc.now())).toEqual([11, 0]);
    expect(pair(hlc.now())).toEqual([11, 1]);
  });

  it('issues distinct timestamps starting from a clock at 0', () => {
    const hlc = new HybridLogicalClock('n1', new JumpyClock(0));
    expect(compareHlc(hlc.now(), hlc.last())).toBe(0);
    expect(pair(hlc.now())).toEqual([0, 2]);
  });
});

describe('receive()', () => {
  // [local millis, local counter, physical now, remote millis, remote counter, expected millis, expected counter]
  const cases: [string, number, number, number, number, number, number, number][] = [
    ['physical time ahead of both', 10, 0, 20, 15, 3, 20, 0],
    ['equal millis, remote counter higher', 10, 2, 5, 10, 7, 10, 8],
    ['equal millis, local counter higher', 10, 9, 5, 10, 7, 10, 10],
    ['local ahead of remote and physical', 10, 2, 5, 8, 50, 10, 3],
    ['remote ahead of local and physical', 10, 2, 5, 12, 4, 12, 5],
    ['remote ties physical, ahead of local', 10, 2, 12, 12, 4, 12, 5],
    ['all three tie', 12, 2, 12, 12, 4, 12, 5],
    ['local ties physical, remote behind', 12, 2, 12, 11, 9, 12, 3],
    ['remote counter overflows', 10, 0, 5, 10, HLC_COUNTER_MAX, 11, 0],
    ['local counter overflows', 10, HLC_COUNTER_MAX, 5, 3, 0, 11, 0],
  ];
  it.each(cases)('%s', (_name, lm, lc, physical, rm, rc, em, ec) => {
    const { clock, hlc } = clockAt(lm, lc);
    clock.t = physical;
    const remote = ts(rm, rc);
    const result = hlc.receive(remote);
    expect(pair(result)).toEqual([em, ec]);
    expect(result.nodeId).toBe('local');
    expect(compareHlc(result, remote)).toBe(1);
  });

  it('refuses a remote too far ahead and leaves the clock unchanged', () => {
    const clock = new JumpyClock(1_000);
    const hlc = new HybridLogicalClock('n1', clock, { driftMaxMs: 100 });
    hlc.now();
    const before = hlc.last();
    let thrown: unknown;
    try {
      hlc.receive(ts(1_101, 0));
    } catch (err) {
      thrown = err;
    }
    expect(isFlotillaError(thrown, 'FLO_HLC_DRIFT')).toBe(true);
    expect((thrown as { details: unknown }).details).toEqual({ remoteMillis: 1_101, physicalMillis: 1_000, driftMaxMs: 100 });
    expect(hlc.last()).toEqual(before);
    expect(pair(hlc.receive(ts(1_100, 0)))).toEqual([1_100, 1]);
  });

  it('uses a 60 s drift bound by default', () => {
    const hlc = new HybridLogicalClock('n1', new JumpyClock(0));
    expect(pair(hlc.receive(ts(60_000, 0)))).toEqual([60_000, 1]);
    expect(codeOf(() => hlc.receive(ts(60_001, 0)))).toBe('FLO_HLC_DRIFT');
  });

  it.each([
    ['negative millis', ts(-1, 0)],
    ['fractional millis', ts(1.5, 0)],
    ['counter above the maximum', ts(1, HLC_COUNTER_MAX + 1)],
    ['negative counter', ts(1, -1)],
    ['NaN millis', ts(Number.NaN, 0)],
  ])('rejects a malformed remote: %s', (_name, remote) => {
    const hlc = new HybridLogicalClock('n1', new JumpyClock(10));
    expect(codeOf(() => hlc.receive(remote))).toBe('FLO_INVALID_ARGUMENT');
  });

  it('rejects a negative or NaN driftMaxMs', () => {
    expect(codeOf(() => new HybridLogicalClock('n1', new JumpyClock(), { driftMaxMs: -1 }))).toBe('FLO_CONFIG_INVALID');
    expect(codeOf(() => new HybridLogicalClock('n1', new JumpyClock(), { driftMaxMs: Number.NaN }))).toBe('FLO_CONFIG_INVALID');
  });
});

describe('compareHlc', () => {
  it.each([
    [ts(1, 0, 'a'), ts(2, 0, 'a'), -1],
    [ts(2, 0, 'a'), ts(1, 9, 'z'), 1],
    [ts(2, 1, 'a'), ts(2, 2, 'a'), -1],
    [ts(2, 2, 'b'), ts(2, 2, 'a'), 1],
    [ts(2, 2, 'a'), ts(2, 2, 'a'), 0],
  ])('compare(%j, %j) = %s', (a, b, expected) => {
    expect(compareHlc(a, b)).toBe(expected);
  });
});

describe('string form', () => {
  it('has fixed-width hex fields', () => {
    expect(hlcToString(ts(0x18f3a2b4c5d, 0x2a, 'node-1'))).toBe('018f3a2b4c5d-002a-node-1');
    expect(hlcFromString('018f3a2b4c5d-002a-node-1')).toEqual(ts(0x18f3a2b4c5d, 0x2a, 'node-1'));
  });

  it.each(['', '18f3a2b4c5d-002a-n', '018f3a2b4c5d-2a-n', '018F3A2B4C5D-002a-n', '018f3a2b4c5d_002a-n'])('rejects %j', (text) => {
    expect(codeOf(() => hlcFromString(text))).toBe('FLO_INVALID_ARGUMENT');
  });

  const arbTs = fc.record({
    millis: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    counter: fc.integer({ min: 0, max: HLC_COUNTER_MAX }),
    nodeId: fc.string({ maxLength: 12 }),
  });

  it('round-trips and sorts like compareHlc', () => {
    fc.assert(
      fc.property(arbTs, arbTs, (a, b) => {
        const sa = hlcToString(a);
        const sb = hlcToString(b);
        const byString = sa === sb ? 0 : sa < sb ? -1 : 1;
        return byString === compareHlc(a, b) && compareHlc(hlcFromString(sa), a) === 0;
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe('monotonicity under random interleavings', () => {
  type Op = { kind: 'jump'; deltaMs: number } | { kind: 'now' } | { kind: 'receive'; offsetMs: number; counter: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('jump' as const), deltaMs: fc.integer({ min: -5_000, max: 5_000 }) }),
    fc.record({ kind: fc.constant('now' as const) }),
    fc.record({
      kind: fc.constant('receive' as const),
      offsetMs: fc.integer({ min: -2_000, max: 2_000 }),
      counter: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(HLC_COUNTER_MAX)),
    }),
  );

  it('every issued timestamp is strictly greater than the one before, and than any received', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = new JumpyClock(1_000_000);
        const hlc = new HybridLogicalClock('local', clock, { driftMaxMs: 1_000 });
        let previous = hlc.last();
        for (const o of ops) {
          if (o.kind === 'jump') {
            clock.t = Math.max(0, clock.t + o.deltaMs);
            continue;
          }
          let next: HlcTimestamp;
          if (o.kind === 'now') {
            next = hlc.now();
          } else {
            const remote = ts(Math.max(0, clock.t + o.offsetMs), o.counter);
            try {
              next = hlc.receive(remote);
            } catch (err) {
              if (!isFlotillaError(err, 'FLO_HLC_DRIFT') || o.offsetMs <= 1_000) return false;
              if (compareHlc(hlc.last(), previous) !== 0) return false;
              continue;
            }
            if (compareHlc(next, remote) !== 1) return false;
          }
          if (compareHlc(next, previous) !== 1) return false;
          previous = next;
        }
        return true;
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
