/**
 * Event-loop delay gauges from `perf_hooks.monitorEventLoopDelay`, owned by one admin
 * server: enabled when it starts, disabled when it closes, so several nodes in one process
 * (and test runs) leave nothing behind.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ExpositionFamily } from './exposition.js';

/**
 * Sampling period of the delay histogram, in ms: the sampler is a timer that wakes the
 * process this often even when it has nothing else to do. At 10 ms (prom-client's default)
 * those wake-ups alone cost an idle node about 0.35% of a core; at 100 ms, a tenth of that.
 * A stall longer than the period shows as a delay within one period of its length;
 * shorter ones only when a sample falls due inside them, which matters little next to the
 * 500 ms probe timeout a stall would have to threaten.
 */
export const EVENT_LOOP_RESOLUTION_MS = 100;

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;

/** Handle on the event-loop gauges. */
export interface EventLoopMetrics {
  /** The six gauges for the delays seen since the previous call; starts a new window. */
  families(): ExpositionFamily[];
  /** Stops the sampling timer. */
  close(): void;
}

/** What the gauges read from the sampler: `monitorEventLoopDelay`'s histogram, in ns. */
export type EventLoopHistogram = Pick<IntervalHistogram, 'count' | 'mean' | 'min' | 'max' | 'percentile' | 'reset' | 'enable' | 'disable'>;

const GAUGES: readonly (readonly [string, string, (h: EventLoopHistogram) => number])[] = [
  ['flotilla_eventloop_lag_seconds', 'Mean event-loop delay since the previous scrape, in seconds.', (h) => h.mean],
  ['flotilla_eventloop_lag_min_seconds', 'Smallest event-loop delay since the previous scrape, in seconds.', (h) => h.min],
  ['flotilla_eventloop_lag_max_seconds', 'Largest event-loop delay since the previous scrape, in seconds.', (h) => h.max],
  ['flotilla_eventloop_lag_p50_seconds', 'Median event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(50)],
  ['flotilla_eventloop_lag_p90_seconds', '90th percentile event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(90)],
  ['flotilla_eventloop_lag_p99_seconds', '99th percentile event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(99)],
];

/**
 * Starts sampling; each `families()` call reports the delays seen since the previous one,
 * all six values over the same interval, then starts the next window. The first sample of
 * a window only restarts the sampler's clock, so a stall that begins within one period
 * after a scrape goes unseen.
 */
export function startEventLoopMetrics(
  histogram: EventLoopHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS }),
): EventLoopMetrics {
  histogram.enable();
  return {
    families(): ExpositionFamily[] {
      const empty = histogram.count === 0;
      // The histogram holds the time between two samples, period included; the delay is
      // what exceeds the period.
      const families = GAUGES.map(([name, help, read]): ExpositionFamily => {
        const seconds = empty ? 0 : (read(histogram) - EVENT_LOOP_RESOLUTION_MS * NS_PER_MS) / NS_PER_S;
        return { name, help, type: 'gauge', samples: [{ labels: {}, value: Number.isFinite(seconds) ? Math.max(0, seconds) : 0 }] };
      });
      histogram.reset();
      return families;
    },
    close: () => histogram.disable(),
  };
}
