// Phi accrual failure detector: the phi formula against Akka's form, bootstrap, steady and
// jittery rhythms, monotone suspicion while silent, bounded history, and config checks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import { PHI_ACCRUAL_DEFAULTS, PHI_MAX, PhiAccrualFailureDetector, phi, phiElapsedAt, type PhiAccrualConfig } from '../../src/membership/phi-accrual.js';

/** Akka's two-branch formula, written as Akka writes it; valid where exp does not overflow. */
function akkaPhi(timeDiff: number, mean: number, stdDeviation: number): number {
  const y = (timeDiff - mean) / stdDeviation;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return timeDiff > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/** Feeds heartbeats at the given intervals, starting at t = 0; returns the last time. */
function feed(fd: PhiAccrualFailureDetector, node: string, intervals: readonly number[]): number {
  let t = 0;
  fd.heartbeat(node, t);
  for (const interval of intervals) {
    t += interval;
    fd.heartbeat(node, t);
  }
  return t;
}

describe('phi()', () => {
  it.each([
    [0, 1_000, 100],
    [900, 1_000, 100],
    [1_000, 1_000, 100],
    [1_100, 1_000, 100],
    [1_250, 1_000, 100],
    [1_300, 1_000, 200],
    [2_000, 1_000, 250],
  ])('matches Akka at elapsed %s, mean %s, sd %s', (elapsed, mean, sd) => {
    expect(phi(elapsed, mean, sd)).toBeCloseTo(akkaPhi(elapsed, mean, sd), 9);
  });

  it('is log10(2) at the mean', () => {
    expect(phi(1_000, 1_000, 100)).toBeCloseTo(Math.log10(2), 12);
  });

  it('stays finite and capped where the naive form overflows', () => {
    expect(Number.isFinite(akkaPhi(1e6, 1_000, 100))).toBe(false);
    expect(phi(1e6, 1_000, 100)).toBe(PHI_MAX);
    expect(phi(1e300, 1_000, 100)).toBe(PHI_MAX);
    expect(phi(0, 1e300, 1)).toBe(0);
    expect(phi(2_000, 1_000, 100)).toBeLessThan(PHI_MAX);
    expect(phi(2_000, 1_000, 100)).toBeCloseTo(akkaPhi(2_000, 1_000, 100), 9);
  });

  it('is non-decreasing in elapsed time', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 0, max: 1e7, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        return phi(lo, 1_000, 100) <= phi(hi, 1_000, 100);
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe('PhiAccrualFailureDetector', () => {
  it('reports 0 and alive for a node never heard from', () => {
    const fd = new PhiAccrualFailureDetector();
    expect(fd.suspicionLevel('ghost', 1e9)).toBe(0);
    expect(fd.isAlive('ghost', 1e9)).toBe(true);
    expect(fd.intervalStats('ghost')).toBeUndefined();
  });

  it('keeps phi low right after regular heartbeats', () => {
    const fd = new PhiAccrualFailureDetector();
    const last = feed(fd, 'n', new Array<number>(20).fill(1_000));
    expect(fd.suspicionLevel('n', last)).toBeLessThan(0.01);
    expect(fd.suspicionLevel('n', last + 500)).toBeLessThan(0.01);
    expect(fd.suspicionLevel('n', last + 1_000)).toBeCloseTo(Math.log10(2), 9);
    expect(fd.isAlive('n', last + 1_200)).toBe(true);
  });

  it('declares a silent node dead after long enough', () => {
    const fd = new PhiAccrualFailureDetector();
    const last = feed(fd, 'n', new Array<number>(20).fill(1_000));
    // sd is floored at 100 ms: phi reaches 8 between 1.5 and 1.6 s of silence.
    expect(fd.isAlive('n', last + 1_500)).toBe(true);
    expect(fd.isAlive('n', last + 1_600)).toBe(false);
    expect(fd.suspicionLevel('n', last + 60_000)).toBe(PHI_MAX);
  });

  it('bootstraps from firstHeartbeatEstimateMs before minSamples intervals', () => {
    const fd = new PhiAccrualFailureDetector({ firstHeartbeatEstimateMs: 1_000 });
    fd.heartbeat('n', 0);
    expect(fd.suspicionLevel('n', 0)).toBeLessThan(0.001);
    expect(fd.suspicionLevel('n', 1_000)).toBeCloseTo(Math.log10(2), 9);
    expect(fd.isAlive('n', 2_000)).toBe(true);
    // A node that dies after one heartbeat is still detected.
    expect(fd.isAlive('n', 3_000)).toBe(false);
    expect(fd.intervalStats('n')).toEqual({ meanMs: 1_000, stdDeviationMs: 250, samples: 0 });
  });

  it('switches to the observed distribution at minSamples', () => {
    const fd = new PhiAccrualFailureDetector({ minSamples: 3 });
    feed(fd, 'n', [200, 200]);
    expect(fd.intervalStats('n')?.meanMs).toBe(1_000);
    feed(fd, 'm', [200, 200, 200]);
    expect(fd.intervalStats('m')).toEqual({ meanMs: 200, stdDeviationMs: 100, samples: 3 });
  });

  it('gives a jittery link more patience than a steady one', () => {
    const random = new SeededRandom(7);
    const fd = new PhiAccrualFailureDetector();
    const steadyLast = feed(fd, 'steady', new Array<number>(100).fill(1_000));
    const jitter = Array.from({ length: 100 }, () => 500 + random.int(1_001));
    const jitteryLast = feed(fd, 'jittery', jitter);
    const stats = fd.intervalStats('jittery')!;
    expect(stats.meanMs).toBeGreaterThan(900);
    expect(stats.meanMs).toBeLessThan(1_100);
    expect(stats.stdDeviationMs).toBeGreaterThan(200);
    expect(fd.isAlive('steady', steadyLast + 1_700)).toBe(false);
    expect(fd.isAlive('jittery', jitteryLast + 1_700)).toBe(true);
    expect(fd.isAlive('jittery', jitteryLast + 10_000)).toBe(false);
  });

  it('keeps rising while a node stays silent, whatever its rhythm', () => {
    const intervals = fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 0, maxLength: 150 });
    const probes = fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 2, maxLength: 30 });
    fc.assert(
      fc.property(intervals, probes, (gaps, offsets) => {
        const fd = new PhiAccrualFailureDetector();
        const last = feed(fd, 'n', gaps);
        let previous = -1;
        for (const offset of [...offsets].sort((a, b) => a - b)) {
          const level = fd.suspicionLevel('n', last + offset);
          if (!Number.isFinite(level) || level < 0 || level < previous) return false;
          previous = level;
        }
        return true;
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('bounds history to samplesMax and follows a changed rhythm', () => {
    const fd = new PhiAccrualFailureDetector({ samplesMax: 50 });
    const t = feed(fd, 'n', new Array<number>(200).fill(1_000));
    expect(fd.intervalStats('n')?.samples).toBe(50);
    for (let i = 1; i <= 50; i++) fd.heartbeat('n', t + i * 200);
    expect(fd.intervalStats('n')).toEqual({ meanMs: 200, stdDeviationMs: 100, samples: 50 });
  });

  it('keeps exact statistics over many window rotations', () => {
    const random = new SeededRandom(3);
    const fd = new PhiAccrualFailureDetector({ samplesMax: 10, minStdDeviationMs: 1e-9 });
    const gaps = Array.from({ length: 5_003 }, () => 1 + random.int(3_000));
    feed(fd, 'n', gaps);
    const tail = gaps.slice(-10);
    const mean = tail.reduce((s, v) => s + v, 0) / 10;
    const sd = Math.sqrt(tail.reduce((s, v) => s + (v - mean) ** 2, 0) / 10);
    const stats = fd.intervalStats('n')!;
    expect(stats.meanMs).toBeCloseTo(mean, 6);
    expect(stats.stdDeviationMs).toBeCloseTo(sd, 4);
  });

  it('does not sample an outage, duplicates or out-of-order heartbeats', () => {
    const fd = new PhiAccrualFailureDetector({ sampleIntervalMaxMs: 5_000 });
    const t = feed(fd, 'n', new Array<number>(10).fill(1_000));
    fd.heartbeat('n', t + 60_000); // an outage: not sampled, but resets the silence
    fd.heartbeat('n', t + 60_000); // duplicate
    fd.heartbeat('n', t + 59_000); // late delivery of an older heartbeat
    expect(fd.intervalStats('n')).toEqual({ meanMs: 1_000, stdDeviationMs: 100, samples: 10 });
    expect(fd.suspicionLevel('n', t + 60_000)).toBeLessThan(0.01);
  });

  it('shifts the expected interval by acceptableHeartbeatPauseMs', () => {
    const plain = new PhiAccrualFailureDetector();
    const patient = new PhiAccrualFailureDetector({ acceptableHeartbeatPauseMs: 3_000 });
    const gaps = new Array<number>(10).fill(1_000);
    const t = feed(plain, 'n', gaps);
    feed(patient, 'n', gaps);
    expect(patient.suspicionLevel('n', t + 4_300)).toBeCloseTo(plain.suspicionLevel('n', t + 1_300), 12);
  });

  it('forgets a removed node', () => {
    const fd = new PhiAccrualFailureDetector();
    const t = feed(fd, 'n', [1_000, 1_000]);
    expect(fd.suspicionLevel('n', t + 5_000)).toBeGreaterThan(8);
    fd.remove('n');
    expect(fd.size).toBe(0);
    expect(fd.suspicionLevel('n', t + 5_000)).toBe(0);
    expect(fd.isAlive('n', t + 5_000)).toBe(true);
  });

  it('treats a query before the last heartbeat as no silence', () => {
    const fd = new PhiAccrualFailureDetector();
    const t = feed(fd, 'n', new Array<number>(10).fill(1_000));
    expect(fd.suspicionLevel('n', t - 500)).toBe(fd.suspicionLevel('n', t));
  });

  const invalid: [string, Partial<PhiAccrualConfig>][] = [
    ['zero threshold', { threshold: 0 }],
    ['threshold at the cap', { threshold: PHI_MAX }],
    ['fractional samplesMax', { samplesMax: 2.5 }],
    ['huge samplesMax', { samplesMax: 1e9 }],
    ['minSamples above samplesMax', { samplesMax: 10, minSamples: 11 }],
    ['zero minSamples', { minSamples: 0 }],
    ['zero minStdDeviationMs', { minStdDeviationMs: 0 }],
    ['negative pause', { acceptableHeartbeatPauseMs: -1 }],
    ['NaN estimate', { firstHeartbeatEstimateMs: Number.NaN }],
    ['sample cap below the estimate', { firstHeartbeatEstimateMs: 2_000, sampleIntervalMaxMs: 2_000 }],
  ];
  it.each(invalid)('rejects %s', (_name, config) => {
    let thrown: unknown;
    try {
      new PhiAccrualFailureDetector(config);
    } catch (err) {
      thrown = err;
    }
    expect(isFlotillaError(thrown, 'FLO_CONFIG_INVALID')).toBe(true);
  });

  it('documents its defaults', () => {
    expect(new PhiAccrualFailureDetector().config).toEqual(PHI_ACCRUAL_DEFAULTS);
    expect(PHI_ACCRUAL_DEFAULTS).toMatchObject({ threshold: 8, samplesMax: 100, minSamples: 5, minStdDeviationMs: 100 });
  });
});

describe('phiElapsedAt()', () => {
  it.each([0.5, 1, 3, 8, 12, 16, 50])('is the inverse of phi in the silence (threshold %d)', (threshold) => {
    for (const [mean, deviation] of [[1_000, 100], [20, 10], [500, 400]] as const) {
      const t = phiElapsedAt(threshold, mean, deviation);
      expect(phi(t, mean, deviation)).toBeCloseTo(threshold, 6);
    }
  });

  it('puts phi 8 about 5.2 deviations past the mean', () => {
    expect(phiElapsedAt(8, 0, 1)).toBeGreaterThan(5.1);
    expect(phiElapsedAt(8, 0, 1)).toBeLessThan(5.3);
  });
});
