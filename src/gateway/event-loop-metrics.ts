/**
 * Event-loop delay gauges from `perf_hooks.monitorEventLoopDelay`, owned by one admin
 * server: enabled when it starts, disabled when it closes, so several nodes in one process
 * (and test runs) leave nothing behind, unlike prom-client's process-wide default metrics.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** Sampling resolution of the delay histogram, in ms (prom-client's default too). */
export const EVENT_LOOP_RESOLUTION_MS = 10;

const NS_PER_S = 1e9;

/** Handle on the event-loop gauges; `close` stops the sampling timer. */
export interface EventLoopMetrics {
  close(): void;
}

/**
 * Registers `flotilla_eventloop_lag_*_seconds` gauges on `registry`. Each scrape reports the
 * delays seen since the previous scrape, then starts a new window.
 */
export function registerEventLoopMetrics(registry: Registry): EventLoopMetrics {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  const read: Record<string, [string, (h: IntervalHistogram) => number]> = {
    flotilla_eventloop_lag_seconds: ['Mean event-loop delay since the previous scrape, in seconds.', (h) => h.mean],
    flotilla_eventloop_lag_min_seconds: ['Smallest event-loop delay since the previous scrape, in seconds.', (h) => h.min],
    flotilla_eventloop_lag_max_seconds: ['Largest event-loop delay since the previous scrape, in seconds.', (h) => h.max],
    flotilla_eventloop_lag_p50_seconds: ['Median event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(50)],
    flotilla_eventloop_lag_p90_seconds: ['90th percentile event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(90)],
    flotilla_eventloop_lag_p99_seconds: ['99th percentile event-loop delay since the previous scrape, in seconds.', (h) => h.percentile(99)],
  };
  // The first gauge's collect callback fills every gauge and starts the next window, so
  // the six values always describe the same interval.
  const fill = (): void => {
    const empty = histogram.count === 0;
    for (const [gauge, value] of gauges) {
      const seconds = empty ? 0 : value(histogram) / NS_PER_S;
      gauge.set(Number.isFinite(seconds) ? seconds : 0);
    }
    histogram.reset();
  };
  const gauges = Object.entries(read).map(
    ([name, [help, value]], i) => [new Gauge({ name, help, registers: [registry], ...(i === 0 ? { collect: fill } : {}) }), value] as const,
  );
  return { close: () => histogram.disable() };
}
