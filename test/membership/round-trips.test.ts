// Adaptive probe timeouts: the timeout each member earns from its round trips, its bounds,
// the learning phase, fixed timeouts, and the bound on members tracked.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWIM_CONFIG, resolveSwimConfig } from '../../src/membership/config.js';
import { phiElapsedAt } from '../../src/membership/phi-accrual.js';
import { probeTimeoutBounds, RoundTrips } from '../../src/membership/round-trips.js';

function tracker(overrides = {}): RoundTrips {
  return new RoundTrips(resolveSwimConfig(overrides));
}

function feed(rt: RoundTrips, node: string, samples: readonly number[]): void {
  for (const sample of samples) rt.record(node, sample);
}

describe('RoundTrips.timeoutFor', () => {
  it('is probeTimeoutMs before any round trip', () => {
    expect(tracker().timeoutFor('n')).toBe(DEFAULT_SWIM_CONFIG.probeTimeoutMs);
  });

  // [round trips, expected timeout]: steady -> floor, jittery -> phi, wild -> ceiling.
  const cases: [string, number[], (samples: number[]) => number][] = [
    ['a steady LAN link gets the floor', [2, 3, 2, 4, 3, 2, 3], () => DEFAULT_SWIM_CONFIG.probeTimeoutMinMs],
    ['a jittery link gets mean + y * deviation for phi 8', [200, 300, 250, 400, 350, 300, 250, 280], (xs) => expected(xs)],
    ['a wild link gets the ceiling', [100, 3_000, 200, 2_500, 150, 2_000], () => DEFAULT_SWIM_CONFIG.probeTimeoutMaxMs],
  ];
  it.each(cases)('%s', (_name, samples, want) => {
    const rt = tracker();
    feed(rt, 'n', samples);
    expect(rt.timeoutFor('n')).toBe(want(samples));
  });

  it('widens a short history: below roundTripSamplesMin the deviation counts as at least the mean', () => {
    const rt = tracker();
    feed(rt, 'n', [300, 300]);
    expect(rt.timeoutFor('n')).toBe(Math.ceil(phiElapsedAt(8, 300, 300)));
    feed(rt, 'n', [300, 300, 300]);
    expect(rt.timeoutFor('n')).toBe(Math.ceil(phiElapsedAt(8, 300, DEFAULT_SWIM_CONFIG.roundTripStdDeviationMinMs)));
  });

  it('records a round trip beyond the ceiling at the ceiling, so one pause cannot dominate', () => {
    const rt = tracker();
    feed(rt, 'n', [60_000]);
    expect(rt.statsOf('n')?.meanMs).toBe(DEFAULT_SWIM_CONFIG.probeTimeoutMaxMs);
  });

  it('gives fixed timeouts when floor and ceiling are equal', () => {
    const rt = tracker({ probeTimeoutMinMs: 500, probeTimeoutMaxMs: 500 });
    feed(rt, 'n', [2_000, 3_000, 2_500, 2_800, 3_100, 2_900]);
    expect(rt.timeoutFor('n')).toBe(500);
  });

  it('tracks at most membersMax members, forgetting the oldest, and forgets on request', () => {
    const rt = tracker({ membersMax: 2 });
    feed(rt, 'a', [1]);
    feed(rt, 'b', [1]);
    feed(rt, 'c', [1]);
    expect(rt.size).toBe(2);
    expect(rt.statsOf('a')).toBeUndefined();
    rt.forget('b');
    expect(rt.statsOf('b')).toBeUndefined();
    expect(rt.size).toBe(1);
  });
});

function expected(samples: readonly number[]): number {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const deviation = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
  return Math.ceil(phiElapsedAt(8, mean, Math.max(deviation, 10)));
}

describe('probeTimeoutBounds', () => {
  it.each([
    [{ probeTimeoutMs: 500, probeTimeoutMinMs: 200, probeTimeoutMaxMs: 4_000 }, { minMs: 200, maxMs: 4_000 }],
    [{ probeTimeoutMs: 100, probeTimeoutMinMs: 200, probeTimeoutMaxMs: 4_000 }, { minMs: 100, maxMs: 4_000 }],
    [{ probeTimeoutMs: 5_000, probeTimeoutMinMs: 200, probeTimeoutMaxMs: 4_000 }, { minMs: 200, maxMs: 5_000 }],
  ])('widen %o to include the probe timeout: %o', (config, bounds) => {
    expect(probeTimeoutBounds(config)).toEqual(bounds);
  });
});
