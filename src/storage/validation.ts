/**
 * Argument checks shared by every store, with the limits that keep all of them alike
 * (PostgreSQL refuses NUL in text and long index keys; SQLite would accept both). A bad
 * argument is refused with FLO_INVALID_ARGUMENT before anything is written.
 */
import { FlotillaError } from '../core/errors.js';
import { hasLoneSurrogate } from '../core/text.js';
import type { EntityWrite } from './storage.js';

/** Most writes in one `writeEntities` call: bounds one transaction's time and memory. */
export const WRITE_BATCH_MAX = 4096;
/** Largest `limit` of one `listEntities` call. */
export const LIST_LIMIT_MAX = 100_000;
/** Longest entity type, in UTF-16 units (with the id, fits a PostgreSQL index entry). */
export const ENTITY_TYPE_LENGTH_MAX = 256;
/** Longest entity id, in UTF-16 units. */
export const ENTITY_ID_LENGTH_MAX = 512;
/** Longest node id of a claim or a write, in UTF-16 units. */
export const NODE_ID_LENGTH_MAX = 256;

/** A FLO_INVALID_ARGUMENT error saying `detail`. */
export function invalid(detail: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', detail);
}

/** Refuses anything but non-empty, well-formed text of at most `lengthMax` UTF-16 units without NUL. */
export function checkText(what: string, value: unknown, lengthMax: number): void {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${what} must be a non-empty string`);
  if (value.length > lengthMax) throw invalid(`${what} is longer than ${lengthMax}`);
  if (value.includes('\u0000') || hasLoneSurrogate(value)) throw invalid(`${what} must be well-formed text without NUL`);
}

/** Refuses anything but a non-negative safe integer. */
export function checkCount(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(`${what} must be a non-negative integer`);
}

/** Check an entity key. */
export function checkEntityKey(type: string, id: string): void {
  if (typeof type !== 'string' || typeof id !== 'string' || type.length === 0 || id.length === 0) {
    throw invalid('entity type and id must be non-empty');
  }
  checkText('entity type', type, ENTITY_TYPE_LENGTH_MAX);
  checkText('entity id', id, ENTITY_ID_LENGTH_MAX);
}

/** Check the arguments of `claimPartition`. */
export function checkClaim(partition: number, epoch: number, owner: string): void {
  checkCount('partition', partition);
  checkCount('epoch', epoch);
  checkText('owner', owner, NODE_ID_LENGTH_MAX);
}

/** Check a whole batch of writes; one bad write refuses the batch. */
export function checkWrites(writes: readonly EntityWrite[]): void {
  if (!Array.isArray(writes)) throw invalid('writes must be an array');
  if (writes.length > WRITE_BATCH_MAX) throw invalid(`a batch holds at most ${WRITE_BATCH_MAX} writes, got ${writes.length}`);
  for (const w of writes) {
    checkEntityKey(w.type, w.id);
    checkCount('partition', w.partition);
    checkCount('epoch', w.epoch);
    checkCount('expectedVersion', w.expectedVersion);
    checkText('writer', w.writer, NODE_ID_LENGTH_MAX);
    if (w.state !== undefined && !(w.state instanceof Uint8Array)) throw invalid('state must be a Uint8Array or undefined');
  }
}

/** Check the arguments of `listEntities`. */
export function checkList(type: string, partition: number, limit: number): void {
  if (typeof type !== 'string' || type.length === 0) throw invalid('entity type must be non-empty');
  checkText('entity type', type, ENTITY_TYPE_LENGTH_MAX);
  checkCount('partition', partition);
  checkCount('limit', limit);
  if (limit > LIST_LIMIT_MAX) throw invalid(`limit is at most ${LIST_LIMIT_MAX}`);
}

/**
 * Run a synchronous body and turn what it throws into a rejection, so that no method of
 * a store ever throws synchronously.
 */
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
