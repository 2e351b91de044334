/**
 * The structured logger interface the transport writes to (pino fits it as is), and a
 * warn-once filter: a peer sending garbage in a loop must cost one log line per kind of
 * garbage, not one per packet, while counters still see every occurrence. On top of it an
 * overall budget of lines per window, so garbage from many sources (or spoofed ones)
 * cannot flood the log either; what it holds back is counted.
 */

/** Minimal structured logger: an object of fields, then a message. */
export interface TransportLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  debug?(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything (the default when none is injected). */
export const silentLogger: TransportLogger = {
  warn: () => undefined,
};

/** Most distinct (source, code) pairs remembered; the oldest are forgotten first. */
export const warnOnceKeysMax = 4096;

/** Most warning lines written per `warnWindowMs`, over every source together. */
export const warnLinesPerWindowMax = 20;

/** Length of the window `warnLinesPerWindowMax` applies to, in ms. */
export const warnWindowMs = 10_000;

/** Lines the filter wrote and held back. */
export interface WarnStats {
  readonly logged: number;
  /** Warnings not written: repeats of a (source, code) pair, and lines over the overall budget. */
  readonly suppressed: number;
}

/**
 * Logs a warning the first time a (source, code) pair is seen, and not again, within an
 * overall budget of `warnLinesPerWindowMax` lines per `warnWindowMs`. A pair held back by
 * the budget is not remembered, so it can still log once the window turns; the first line
 * after any were held back carries `suppressed`, the count since the previous line.
 */
export class WarnOnce {
  private readonly seen = new Set<string>();
  private windowStartedAt = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  private logged = 0;
  private suppressed = 0;
  private suppressedSinceLine = 0;

  /** @param now clock for the budget's window, in ms (injected by tests of the budget). */
  constructor(
    private readonly logger: TransportLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Log unless this source already produced this code or the budget is spent; returns
   * whether it logged. `source` should be what an attacker cannot multiply for free: an
   * IP address, not an `ip:port`.
   */
  warn(source: string, code: string, fields: Record<string, unknown>, message: string): boolean {
    const key = `${source}\u0000${code}`;
    if (this.seen.has(key) || !this.takeBudget()) {
      this.suppressed++;
      this.suppressedSinceLine++;
      return false;
    }
    if (this.seen.size >= warnOnceKeysMax) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(key);
    this.logged++;
    const held = this.suppressedSinceLine;
    this.suppressedSinceLine = 0;
    this.logger.warn(held === 0 ? { ...fields, source, code } : { ...fields, source, code, suppressed: held }, message);
    return true;
  }

  /** Lines written and held back so far. */
  stats(): WarnStats {
    return { logged: this.logged, suppressed: this.suppressed };
  }

  private takeBudget(): boolean {
    const now = this.now();
    if (now - this.windowStartedAt >= warnWindowMs) {
      this.windowStartedAt = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= warnLinesPerWindowMax) return false;
    this.linesInWindow++;
    return true;
  }

  /** The underlying logger, for lines that are not per-peer (lifecycle). */
  get base(): TransportLogger {
    return this.logger;
  }
}
