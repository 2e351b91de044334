/**
 * Event-loop delay as the driver experiences it (`perf_hooks.monitorEventLoopDelay`):
 * a loop that lags delays probes and Acks, which peers read as this node failing, so the
 * lag belongs next to the membership counters.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Sampling resolution of the delay histogram, in ms. */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 10;

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
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round((ns / NS_PER_MS) * 1000) / 1000 : 0);
    return { meanMs: ms(h.mean), p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}
