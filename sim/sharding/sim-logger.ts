/**
 * The simulated nodes' logger: structured entries stamped with virtual time and node,
 * kept in a bounded ring for a failing run's report, counted by level, and printed as
 * they happen when `FLOTILLA_SIM_LOG` names a level (debug, info, warn, error).
 */
import type { Millis } from '../../src/core/clock.js';
import type { Logger } from '../../src/core/logger.js';

/** Entries kept for a report. */
export const LOG_ENTRIES_MAX = 400;

type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** One logged line. */
export interface SimLogEntry {
  readonly at: Millis;
  readonly level: Level;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** Every node's log lines in one place. */
export class SimLog {
  readonly counts: Record<Level, number> = { debug: 0, info: 0, warn: 0, error: 0 };
  private readonly ring: SimLogEntry[] = [];
  private readonly printFrom: number;

  constructor(private readonly clock: () => Millis) {
    const wanted = LEVELS.indexOf((process.env['FLOTILLA_SIM_LOG'] ?? '') as Level);
    this.printFrom = wanted < 0 ? LEVELS.length : wanted;
  }

  /** A logger whose lines carry `bindings` (the node id, a service name). */
  logger(bindings: Record<string, unknown>): Logger {
    const line = (level: Level) => (fields: Record<string, unknown>, message: string): void => this.write(level, { ...bindings, ...fields }, message);
    return {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
      child: (more) => this.logger({ ...bindings, ...more }),
    };
  }

  /** The most recent warnings and errors, oldest first, as text. */
  recent(): string[] {
    return this.ring.map((e) => `${e.at} ${e.level} ${e.message} ${safeJson(e.fields)}`);
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    this.counts[level]++;
    const at = this.clock();
    const rank = LEVELS.indexOf(level);
    if (rank >= this.printFrom) process.stderr.write(`${at} ${level} ${message} ${safeJson(fields)}\n`);
    if (rank < LEVELS.indexOf('warn')) return;
    this.ring.push({ at, level, message, fields });
    if (this.ring.length > LOG_ENTRIES_MAX) this.ring.shift();
  }
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return '{unprintable}';
  }
}
