/**
 * Event-loop delay as the driver experiences it (`perf_hooks.monitorEventLoopDelay`):
 * a loop that lags delays probes and Acks, which peers read as this node failing, so the
 * lag belongs next to the membership counters.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Sampling period of the delay histogram, in ms. The sampler is a timer that wakes an idle
 * node this often: at 10 ms that alone costs about 0.35% of a core, at 100 ms a tenth of
 * it. Stalls longer than the period are always seen; the lag that threatens membership is
 * the 500 ms probe timeout's scale, far above it.
 */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 100;

/** Event-loop delay since the node started, in ms (0 before any sample). */
export interface EventLoopLag {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const NS_PER_MS = 1e6;

/** A running delay monitor; `stop` releases its timer. */
export class EventLoopLagMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_LAG_RESOLUTION_MS });
  private running = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.histogram.enable();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.histogram.disable();
  }

  /** The delays seen so far. */
  read(): EventLoopLag {
    const h = this.histogram;
    if (h.count === 0) return { meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    // The histogram holds the time between two samples, period included; the delay is
    // what exceeds the period.
    const ms = (ns: number): number =>
      Number.isFinite(ns) ? Math.max(0, Math.round((ns / NS_PER_MS - EVENT_LOOP_LAG_RESOLUTION_MS) * 1000) / 1000) : 0;
    return { meanMs: ms(h.mean), p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}
