/**
 * Rate limiting for repetitive log lines: a dead peer fails every send to it, and a
 * garbage source repeats itself; one line per (key) per window is enough for an operator,
 * while counters keep the exact numbers. The memory of keys is bounded.
 */
import type { Millis } from '../core/clock.js';

/** Remembers when each key last logged. */
export class LogLimiter {
  private readonly lastAt = new Map<string, Millis>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly keysMax: number,
  ) {}

  /**
   * Whether a line for `key` may be written at `now`. When it may, returns how many
   * lines were suppressed since the last one (0 or more); otherwise undefined.
   */
  allow(key: string, now: Millis): number | undefined {
    const last = this.lastAt.get(key);
    if (last !== undefined && now - last < this.windowMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return undefined;
    }
    this.lastAt.delete(key);
    if (this.lastAt.size >= this.keysMax) {
      const oldest = this.lastAt.keys().next().value as string;
      this.lastAt.delete(oldest);
      this.suppressed.delete(oldest);
    }
    this.lastAt.set(key, now);
    const count = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    return count;
  }
}
