/**
 * How the client reads gateways' answers: versioned reads, and a node's error as a
 * catalogued FlotillaError (retryable or final), so routing decides alike for map ops
 * and entity calls.
 */
import { ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import type { EventVersion } from '../protocol/client-frames.js';
import { decodeValue, unpackValue, type KvValue } from '../protocol/map-values.js';

/** A versioned read: nil (no slot), or `[value | nil, millis, counter, node]`. */
export function decodeVersioned(payload: Uint8Array | null): { value: KvValue | null; version: EventVersion } | undefined {
  if (payload === null) return undefined;
  const f = unpackValue(payload, 'read');
  if (f === null) return undefined;
  if (!Array.isArray(f) || f.length !== 4 || typeof f[1] !== 'number' || typeof f[2] !== 'number' || typeof f[3] !== 'string') {
    throw new FlotillaError('FLO_DECODE_INVALID', 'a read answer is [value, millis, counter, node]');
  }
  return { value: f[0] === null ? null : decodeValue(f[0] as Uint8Array), version: { millis: f[1], counter: f[2], node: f[3] } };
}

/**
 * A write's acknowledgement: `[result, millis, counter, node]` (the result nil for a put,
 * true for a delete), or, from a delete that found nothing or a gateway from before write
 * versions, a bare boolean or nil. The version is undefined when the answer has none.
 */
export function decodeWriteAnswer(payload: Uint8Array | null): { deleted: boolean; version: EventVersion | undefined } {
  if (payload === null) return { deleted: false, version: undefined };
  const f = unpackValue(payload, 'write answer');
  if (typeof f === 'boolean' || f === null) return { deleted: f === true, version: undefined };
  if (!Array.isArray(f) || f.length !== 4 || !isVersion(f[1], f[2], f[3])) throw new FlotillaError('FLO_DECODE_INVALID', 'a write answer is [result, millis, counter, node]');
  return { deleted: f[0] === true, version: { millis: f[1], counter: f[2], node: f[3] } };
}

function isVersion(millis: unknown, counter: unknown, node: unknown): boolean {
  return Number.isSafeInteger(millis) && (millis as number) >= 0 && Number.isSafeInteger(counter) && (counter as number) >= 0 && typeof node === 'string' && node.length > 0;
}

/** The marks of a SUBSCRIBE answer, `[partition, millis, ...]` (nil from gateways without resumable subscriptions). */
export function decodeMarks(payload: Uint8Array | null): [number, number][] {
  if (payload === null) return [];
  const flat = unpackValue(payload, 'subscribe answer');
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || !flat.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new FlotillaError('FLO_DECODE_INVALID', 'a subscribe answer is [partition, millis, ...]');
  }
  const marks: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) marks.push([flat[i] as number, flat[i + 1] as number]);
  return marks;
}

/** Whether a map op changes the cluster's data: once one may have run, a later refusal does not mean "not done". */
export function isMutating(op: string): boolean {
  return op === 'put' || op === 'delete' || op === 'orAdd' || op === 'orRemove';
}

/** Whether an attempt that failed with `error` may still have taken effect on the cluster. */
export function mayHaveRunError(error: unknown): error is FlotillaError {
  if (!isFlotillaError(error)) return false;
  return error.code === 'FLO_UNCONFIRMED' || error.code === 'FLO_TIMEOUT' || (error.code === 'FLO_CONNECTION_FAILED' && error.details?.inFlight === true);
}

/**
 * How an op fails when an earlier attempt may have run (`first`, its code) and the last
 * one was refused with `last` (read-only, not the owner, no connection...):
 * FLO_UNCONFIRMED. A timeout or an unconfirmed answer as the last one already says
 * "outcome unknown" and stays as it is.
 */
export function outcomeUnknown(first: string, last: unknown): unknown {
  if (mayHaveRunError(last)) return last;
  const lastCode = isFlotillaError(last) ? last.code : 'FLO_INTERNAL';
  const lastMessage = last instanceof Error ? last.message : String(last);
  return new FlotillaError('FLO_UNCONFIRMED', `an attempt may have taken effect (${first}), a later one failed (${lastCode})`, { outcomeUnknown: true, firstError: first, lastError: lastCode, lastMessage });
}

export function isRetryable(error: unknown): boolean {
  return isFlotillaError(error) && error.retryable;
}

/** A node's error as a FlotillaError (an unknown code becomes FLO_INTERNAL). */
export function remoteError(code: string, message: string): FlotillaError {
  const known = Object.hasOwn(ErrorCatalog, code) ? (code as ErrorCode) : 'FLO_INTERNAL';
  const prefix = `${ErrorCatalog[known].message}: `;
  return new FlotillaError(known, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}
