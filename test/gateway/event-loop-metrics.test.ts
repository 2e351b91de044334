// The event-loop gauges: the sampler's histogram holds the time between two samples,
// period included, so the gauges report what exceeds the period (a quiet loop reads
// about 0), an empty window reads 0, and each read starts a new window.
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_RESOLUTION_MS, startEventLoopMetrics, type EventLoopHistogram } from '../../src/gateway/event-loop-metrics.js';

const NS_PER_MS = 1e6;

/** A histogram standing in for the sampler: fixed readings in ns, counting resets. */
class FixedHistogram implements EventLoopHistogram {
  resets = 0;
  enabled = false;
  constructor(
    public count: number,
    private readonly ms: { min: number; mean: number; max: number; p50: number; p90: number; p99: number },
  ) {}
  get min(): number {
    return this.ms.min * NS_PER_MS;
  }
  get mean(): number {
    return this.ms.mean * NS_PER_MS;
  }
  get max(): number {
    return this.ms.max * NS_PER_MS;
  }
  percentile(q: number): number {
    return (q === 50 ? this.ms.p50 : q === 90 ? this.ms.p90 : this.ms.p99) * NS_PER_MS;
  }
  reset(): void {
    this.resets++;
    this.count = 0;
  }
  enable(): boolean {
    this.enabled = true;
    return true;
  }
  disable(): boolean {
    this.enabled = false;
    return true;
  }
}

function gauges(families: ReturnType<ReturnType<typeof startEventLoopMetrics>['families']>): Record<string, number> {
  return Object.fromEntries(families.map((f) => [f.name.replace('flotilla_eventloop_lag_', ''), f.samples[0]!.value]));
}

describe('event-loop metrics', () => {
  const R = EVENT_LOOP_RESOLUTION_MS;

  it('reports the delay beyond the sampling period, in seconds, never below 0', () => {
    const histogram = new FixedHistogram(40, { min: R - 0.5, mean: R + 2, max: R + 300, p50: R + 0.25, p90: R + 5, p99: R + 250 });
    const metrics = startEventLoopMetrics(histogram);
    expect(histogram.enabled).toBe(true);
    const g = gauges(metrics.families());
    expect(g.min_seconds).toBe(0);
    expect(g.seconds).toBeCloseTo(0.002, 9);
    expect(g.max_seconds).toBeCloseTo(0.3, 9);
    expect(g.p50_seconds).toBeCloseTo(0.00025, 9);
    expect(g.p90_seconds).toBeCloseTo(0.005, 9);
    expect(g.p99_seconds).toBeCloseTo(0.25, 9);
    metrics.close();
    expect(histogram.enabled).toBe(false);
  });

  it('reads 0 for an empty window and starts a new window on each read', () => {
    const histogram = new FixedHistogram(10, { min: R, mean: R + 1, max: R + 40, p50: R, p90: R + 2, p99: R + 40 });
    const metrics = startEventLoopMetrics(histogram);
    expect(gauges(metrics.families()).max_seconds).toBeCloseTo(0.04, 9);
    expect(histogram.resets).toBe(1);
    expect(Object.values(gauges(metrics.families()))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(histogram.resets).toBe(2);
    metrics.close();
  });

  it('samples the real event loop by default, one gauge sample each', () => {
    const metrics = startEventLoopMetrics();
    try {
      const families = metrics.families();
      expect(families.map((f) => f.name)).toContain('flotilla_eventloop_lag_p99_seconds');
      expect(families.every((f) => f.type === 'gauge' && f.samples.length === 1 && f.samples[0]!.value >= 0)).toBe(true);
    } finally {
      metrics.close();
    }
  });
});
