/**
 * Short, readable renderings of the nodes' JSON log lines for `flotilla dev`, where
 * several nodes share one terminal: each line is prefixed by its node's name, keeps the
 * time, level and message, and the remaining fields as `key=value`. Lines that are not
 * pino JSON pass through unchanged.
 */

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields that the prefix, the time and the level already show. */
const SHOWN_FIELDS = new Set(['level', 'time', 'msg', 'nodeId', 'pid', 'hostname']);

/** Most characters of one rendered field value; longer ones are cut. */
export const FIELD_CHARS_MAX = 120;

const ANSI = { reset: '\u001b[0m', dim: '\u001b[2m', red: '\u001b[31m', yellow: '\u001b[33m' } as const;

/** Colours cycled over the nodes' name prefixes. */
const NAME_COLOURS = ['\u001b[36m', '\u001b[35m', '\u001b[32m', '\u001b[34m', '\u001b[33m', '\u001b[91m'] as const;

/** How to render lines. */
export interface RenderOptions {
  /** Use ANSI colours (for a terminal). */
  readonly colour: boolean;
}

/** `name` padded to `width`, coloured by `index` when colours are on, with a separator. */
export function namePrefix(name: string, index: number, width: number, options: RenderOptions): string {
  const padded = name.padEnd(width);
  if (!options.colour) return `${padded} | `;
  return `${NAME_COLOURS[index % NAME_COLOURS.length]!}${padded}${ANSI.reset} ${ANSI.dim}|${ANSI.reset} `;
}

function time(ms: unknown): string {
  if (typeof ms !== 'number') return '--:--:--.---';
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function field(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const clipped = text.length > FIELD_CHARS_MAX ? `${text.slice(0, FIELD_CHARS_MAX - 1)}…` : text;
  return /[\s"=]/.test(clipped) && typeof value === 'string' ? JSON.stringify(clipped) : clipped;
}

/** One log line rendered for humans (or returned as is when it is not a JSON object). */
export function renderLogLine(line: string, options: RenderOptions): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const levelNumber = typeof record.level === 'number' ? record.level : 30;
  const level = (LEVEL_NAMES[levelNumber] ?? String(record.level)).padEnd(5);
  const rest = Object.entries(record)
    .filter(([key]) => !SHOWN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${field(value)}`)
    .join(' ');
  const message = typeof record.msg === 'string' ? record.msg : '';
  const levelText = !options.colour ? level : levelNumber >= 50 ? `${ANSI.red}${level}${ANSI.reset}` : levelNumber >= 40 ? `${ANSI.yellow}${level}${ANSI.reset}` : level;
  const restText = rest.length === 0 ? '' : options.colour ? ` ${ANSI.dim}${rest}${ANSI.reset}` : ` ${rest}`;
  return `${time(record.time)} ${levelText} ${message}${restText}`;
}
