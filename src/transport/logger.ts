/**
 * The structured logger interface the transport writes to (pino fits it as is), and a
 * warn-once filter: a peer sending garbage in a loop must cost one log line per kind of
 * garbage, not one per packet, while counters still see every occurrence.
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

/** Logs a warning the first time a (source, code) pair is seen, and not again. */
export class WarnOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: TransportLogger) {}

  /** Log unless this source already produced this code; returns whether it logged. */
  warn(source: string, code: string, fields: Record<string, unknown>, message: string): boolean {
    const key = `${source}\u0000${code}`;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= warnOnceKeysMax) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(key);
    this.logger.warn({ ...fields, source, code }, message);
    return true;
  }

  /** The underlying logger, for lines that are not per-peer (lifecycle). */
  get base(): TransportLogger {
    return this.logger;
  }
}
