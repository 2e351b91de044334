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
  const fast = readWriteAnswer(payload);
  if (fast !== undefined) return fast;
  const f = unpackValue(payload, 'write answer');
  if (typeof f === 'boolean' || f === null) return { deleted: f === true, version: undefined };
  if (!Array.isArray(f) || f.length !== 4 || !isVersion(f[1], f[2], f[3])) throw new FlotillaError('FLO_DECODE_INVALID', 'a write answer is [result, millis, counter, node]');
  return { deleted: f[0] === true, version: { millis: f[1], counter: f[2], node: f[3] } };
}

/** The version a write's acknowledgement carries, if any (a malformed one leaves the write acknowledged, unversioned). */
export function writeVersion(payload: Uint8Array | null): EventVersion | undefined {
  try {
    return decodeWriteAnswer(payload).version;
  } catch {
    return undefined;
  }
}

/** Scratch for the big-endian float64 a millis field may come as. */
const FLOAT_BYTES = new Uint8Array(8);
const FLOAT_VIEW = new DataView(FLOAT_BYTES.buffer);

/**
 * A write answer read straight from its bytes when it has the shape gateways send
 * (`[nil | bool, number, number, ASCII string]`); undefined for anything else, which the
 * general decoder then reads or refuses. Every write's acknowledgement passes here, and
 * the general decoder cost the client about a microsecond per write.
 */
function readWriteAnswer(b: Uint8Array): { deleted: boolean; version: EventVersion | undefined } | undefined {
  if (b.length < 6 || b[0] !== 0x94 || (b[1] !== 0xc0 && b[1] !== 0xc2 && b[1] !== 0xc3)) return undefined;
  const millis = readNumber(b, 2);
  if (millis < 0) return undefined;
  const counter = readNumber(b, numberEnd);
  let at = numberEnd;
  if (counter < 0 || at >= b.length) return undefined;
  const tag = b[at++]!;
  const length = tag >= 0xa0 && tag <= 0xbf ? tag - 0xa0 : tag === 0xd9 && at < b.length ? b[at++]! : -1;
  if (length <= 0 || at + length !== b.length) return undefined;
  let node = '';
  for (let i = at; i < b.length; i++) {
    if (b[i]! >= 0x80) return undefined;
    node += String.fromCharCode(b[i]!);
  }
  if (!isVersion(millis, counter, node)) return undefined;
  return { deleted: b[1] === 0xc3, version: { millis, counter, node } };
}

/** Where the last `readNumber` ended. */
let numberEnd = 0;

/** The non-negative number at `at` (fixint, uint 8/16/32, float64), or -1 for anything else; sets `numberEnd`. */
function readNumber(b: Uint8Array, at: number): number {
  if (at >= b.length) return -1;
  const tag = b[at++]!;
  if (tag < 0x80) {
    numberEnd = at;
    return tag;
  }
  const width = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : tag === 0xcb ? 8 : 0;
  if (width === 0 || at + width > b.length) return -1;
  let n = 0;
  if (tag === 0xcb) {
    for (let i = 0; i < 8; i++) FLOAT_BYTES[i] = b[at + i]!;
    n = FLOAT_VIEW.getFloat64(0);
    if (!(n >= 0)) return -1;
  } else {
    for (let i = 0; i < width; i++) n = n * 256 + b[at + i]!;
  }
  numberEnd = at + width;
  return n;
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
