import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DEFAULT_SWIM_CONFIG, pushPullIntervalFor, resolveSwimConfig, type SwimConfig } from '../../src/membership/config.js';

describe('resolveSwimConfig', () => {
  it('returns the defaults when given nothing', () => {
    expect(resolveSwimConfig()).toEqual(DEFAULT_SWIM_CONFIG);
  });

  it('applies overrides', () => {
    expect(resolveSwimConfig({ probeIntervalMs: 2000 }).probeIntervalMs).toBe(2000);
  });

  const bad: [string, Partial<SwimConfig>][] = [
    ['probe timeout equal to the interval', { probeTimeoutMs: 1000 }],
    ['probe timeout above the interval', { probeTimeoutMs: 1500, probeIntervalMs: 1000 }],
    ['zero probe interval', { probeIntervalMs: 0 }],
    ['fractional gossip interval', { gossipIntervalMs: 1.5 }],
    ['negative indirect checks', { indirectChecks: -1 }],
    ['backoff initial above max', { joinBackoffInitialMs: 20_000 }],
    ['jitter of 1', { joinBackoffJitter: 1 }],
    ['negative jitter', { joinBackoffJitter: -0.1 }],
    ['byte budget below the minimum', { gossipMessageBytesMax: 100 }],
    ['byte budget above the wire cap', { gossipMessageBytesMax: 4097 }],
    ['tombstones shorter than gossip to the dead', { tombstoneMs: 1000 }],
    ['NaN queue size', { transmitQueueMax: Number.NaN }],
    ['adaptive floor above the ceiling', { probeTimeoutMinMs: 600, probeTimeoutMaxMs: 550 }],
    ['fractional adaptive ceiling', { probeTimeoutMaxMs: 1000.5 }],
    ['round-trip minimum above the window', { roundTripSamplesMin: 65 }],
    ['round-trip window above its limit', { roundTripSamplesMax: 5000 }],
    ['zero phi for timeouts', { probeTimeoutPhi: 0 }],
    ['phi for timeouts beyond its limit', { probeTimeoutPhi: 101 }],
  ];
  it('accepts a probe timeout outside the adaptive bounds (they widen to include it)', () => {
    expect(resolveSwimConfig({ probeIntervalMs: 200, probeTimeoutMs: 100 }).probeTimeoutMs).toBe(100);
    expect(resolveSwimConfig({ probeIntervalMs: 10_000, probeTimeoutMs: 5_000 }).probeTimeoutMs).toBe(5_000);
  });

  it('accepts fixed timeouts: floor, timeout and ceiling equal', () => {
    const config = resolveSwimConfig({ probeTimeoutMinMs: 500, probeTimeoutMs: 500, probeTimeoutMaxMs: 500 });
    expect(config.probeTimeoutMaxMs).toBe(500);
  });

  it.each(bad)('rejects %s', (_name, overrides) => {
    let caught: unknown;
    try {
      resolveSwimConfig(overrides);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_CONFIG_INVALID')).toBe(true);
  });
});

describe('pushPullIntervalFor', () => {
  const cases: [number, number][] = [
    [1, 30_000],
    [32, 30_000],
    [33, 60_000],
    [64, 60_000],
    [65, 90_000],
    [128, 90_000],
    [1000, 180_000],
  ];
  it.each(cases)('n=%i -> %i ms', (n, expected) => {
    expect(pushPullIntervalFor(30_000, n)).toBe(expected);
  });
});
