/**
 * A singleton's durable record: its counter and its leadership history, kept as one
 * entity record (type `__singleton`, id the singleton's name) behind the partition fence.
 * Pure functions here turn one record into the next; the leader writes the result.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { LeadershipRecord } from './singleton-definition.js';
import { decodeValue, encodeValue } from './state-codec.js';

/** The entity type singleton records are stored under (entity types cannot start with `_`). */
export const SINGLETON_RECORD_TYPE = '__singleton';
/** Most leadership records kept per singleton; the oldest are dropped first. */
export const LEADERSHIP_HISTORY_MAX = 200;

/** The stored state of one singleton. */
export interface SingletonRecord {
  /** The last counter value handed out (0: none yet). */
  readonly counter: number;
  readonly history: readonly LeadershipRecord[];
}

/** A singleton that never ran. */
export const EMPTY_RECORD: SingletonRecord = Object.freeze({ counter: 0, history: Object.freeze([]) });

export function encodeRecord(record: SingletonRecord): Uint8Array {
  return encodeValue({ c: record.counter, h: record.history.map((e) => [e.runner, e.epoch, e.becameLeaderAt, e.lostLeadershipAt]) });
}

/** Decode stored bytes; FLO_STORAGE when they are not a singleton record. */
export function decodeRecord(bytes: Uint8Array): SingletonRecord {
  let raw: unknown;
  try {
    raw = decodeValue(bytes);
  } catch (error) {
    throw new FlotillaError('FLO_STORAGE', `stored singleton record is unreadable: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { c, h } = (typeof raw === 'object' && raw !== null ? raw : {}) as { c?: unknown; h?: unknown };
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0 || !Array.isArray(h)) throw new FlotillaError('FLO_STORAGE', 'stored singleton record is malformed');
  const history = h.map((entry: unknown): LeadershipRecord => {
    if (!Array.isArray(entry) || entry.length !== 4) throw new FlotillaError('FLO_STORAGE', 'stored leadership record is malformed');
    const [runner, epoch, since, until] = entry as unknown[];
    if (typeof runner !== 'string' || typeof epoch !== 'number' || typeof since !== 'number' || (until !== null && typeof until !== 'number')) {
      throw new FlotillaError('FLO_STORAGE', 'stored leadership record is malformed');
    }
    return { runner, epoch, becameLeaderAt: since, lostLeadershipAt: until };
  });
  return { counter: c, history };
}

/** Close every open leadership at `now` (a leader that crashed left its own open). */
function closeOpen(history: readonly LeadershipRecord[], now: Millis): LeadershipRecord[] {
  return history.map((e) => (e.lostLeadershipAt === null ? { ...e, lostLeadershipAt: Math.max(now, e.becameLeaderAt) } : e));
}

/** The record once `runner` took over at `epoch`. */
export function withLeaderAdded(record: SingletonRecord, runner: NodeId, epoch: number, now: Millis): SingletonRecord {
  const history = closeOpen(record.history, now);
  history.push({ runner, epoch, becameLeaderAt: now, lostLeadershipAt: null });
  return { counter: record.counter, history: history.slice(-LEADERSHIP_HISTORY_MAX) };
}

/** The record once the leadership of `runner` at `epoch` ended. */
export function withLeaderClosed(record: SingletonRecord, runner: NodeId, epoch: number, now: Millis): SingletonRecord {
  const history = record.history.map((e) => (e.runner === runner && e.epoch === epoch && e.lostLeadershipAt === null ? { ...e, lostLeadershipAt: Math.max(now, e.becameLeaderAt) } : e));
  return { counter: record.counter, history };
}

/** The record after handing out the next counter value. */
export function withCounterAdvanced(record: SingletonRecord): SingletonRecord {
  if (record.counter >= Number.MAX_SAFE_INTEGER) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'the singleton counter reached the safe integer limit');
  return { counter: record.counter + 1, history: record.history };
}

/** The record with its history cleared, except the leadership running now. */
export function withHistoryCleared(record: SingletonRecord, runner: NodeId, epoch: number): SingletonRecord {
  return { counter: record.counter, history: record.history.filter((e) => e.runner === runner && e.epoch === epoch && e.lostLeadershipAt === null) };
}

/** The record with its counter back at 0 (the next value is 1 again). */
export function withCounterReset(record: SingletonRecord): SingletonRecord {
  return { counter: 0, history: record.history };
}
