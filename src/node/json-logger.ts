/**
 * The node's default logger: one JSON line per event on stdout, in pino's line format
 * (`level` as a number, `time` in ms, bindings, then `msg`), so tools that read pino logs
 * read these. Written here rather than taken from pino because pino and its transports
 * cost an idle node about 7 MB of resident memory for features a node does not use.
 */
import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';

/** The levels a JSON logger knows, with pino's numbers; `silent` writes nothing. */
export const JSON_LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

/** A level name of `JSON_LOG_LEVELS`. */
export type JsonLogLevel = keyof typeof JSON_LOG_LEVELS;

/** Options of `createJsonLogger`. */
export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  readonly level?: JsonLogLevel;
  /** Fields on every line. Default `{ pid, hostname }`, as pino's. */
  readonly base?: Record<string, unknown>;
  /** Where a finished line goes (with its newline). Default: stdout, synchronously. */
  readonly write?: (line: string) => void;
  /** The time of a line in ms. Default `Date.now`. */
  readonly now?: () => number;
}

/** A logger that writes pino-format JSON lines. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = JSON_LOG_LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? Date.now;
  const base = options.base ?? { pid: process.pid, hostname: hostname() };
  return makeLogger(threshold, write, now, serializeBindings(base));
}

function makeLogger(threshold: number, write: (line: string) => void, now: () => number, bindings: string): Logger {
  const emit = (level: number, fields: Record<string, unknown>, message: string): void => {
    if (level < threshold) return;
    const own = serializeBindings(fields);
    const msg = safeJson(message);
    write(`{"level":${level},"time":${now()}${bindings}${own},"msg":${msg}}\n`);
  };
  return {
    debug: (fields, message) => emit(JSON_LOG_LEVELS.debug, fields, message),
    info: (fields, message) => emit(JSON_LOG_LEVELS.info, fields, message),
    warn: (fields, message) => emit(JSON_LOG_LEVELS.warn, fields, message),
    error: (fields, message) => emit(JSON_LOG_LEVELS.error, fields, message),
    child: (more) => makeLogger(threshold, write, now, bindings + serializeBindings(more)),
  };
}

/** `,"k":v` for each field; `msg`, `level` and `time` stay the line's own. */
function serializeBindings(fields: Record<string, unknown>): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === 'msg' || key === 'level' || key === 'time') continue;
    out += `,${safeJson(key)}:${safeJson(value)}`;
  }
  return out;
}

/** JSON of any value: errors as `{type, message, code, stack}`, bigints as strings, cycles cut. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v instanceof Error) {
          const code = (v as { code?: unknown }).code;
          return { type: v.name, message: v.message, ...(code === undefined ? {} : { code }), stack: v.stack };
        }
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      }) ?? 'null'
    );
  } catch {
    return '"[unserializable]"';
  }
}
