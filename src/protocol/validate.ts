/**
 * Hand-written field readers: each takes an untrusted value and either returns it as the
 * typed field or throws naming the field. The same readers check decoded frames
 * (FLO_DECODE_INVALID) and messages about to be encoded (FLO_INVALID_ARGUMENT), so the
 * encoder can never produce a frame the decoder would refuse. Readers are given only
 * their own field name; enclosing records and arrays prefix the path as the error passes
 * through them, so the path string is built only when something fails.
 */
import { FlotillaError } from '../core/errors.js';
import type { Tags } from '../core/model.js';
import {
  ADDRESS_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  TAG_KEY_BYTES_MAX,
  TAGS_BYTES_MAX,
  TAGS_COUNT_MAX,
  UINT32_MAX,
} from './limits.js';

/** The error code a failed check throws: one per direction. */
export type ValidationCode = 'FLO_DECODE_INVALID' | 'FLO_INVALID_ARGUMENT';

/** How a check behaves: which code it throws, and whether byte fields are copied out. */
export interface ReadContext {
  readonly code: ValidationCode;
  /**
   * Copy byte fields into fresh arrays. On decode the input frame may be a view into a
   * reused network buffer, so a decoded message must not alias it.
   */
  readonly copyBytes: boolean;
}

/** Reading a received frame. */
export const DECODE_CONTEXT: ReadContext = { code: 'FLO_DECODE_INVALID', copyBytes: true };

/** Checking a message before it is encoded. */
export const ENCODE_CONTEXT: ReadContext = { code: 'FLO_INVALID_ARGUMENT', copyBytes: false };

/** A field failed a check: its path relative to the reader that caught it. Never escapes `checked`. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: expected ${expected}`);
  }
}

/** Fail the check of the field at `path`. */
export function invalid(path: string, expected: string): never {
  throw new FieldError(path, expected);
}

function joinPath(prefix: string, path: string): string {
  if (path === '') return prefix;
  return path.startsWith('[') || prefix === '' ? `${prefix}${path}` : `${prefix}.${path}`;
}

/** Read the nested record `v` with `read`, prefixing `name` to the path of any failure. */
export function nested<T>(name: string, read: (v: unknown) => T, v: unknown): T {
  try {
    return read(v);
  } catch (error) {
    throw error instanceof FieldError ? new FieldError(joinPath(name, error.path), error.expected) : error;
  }
}

/**
 * `error` as the caller should see it: a FieldError becomes a FlotillaError with the
 * context's code and the field's full path under `root` (e.g. the message type);
 * anything else is returned as it is.
 */
export function asCheckError(ctx: ReadContext, root: string, error: unknown): unknown {
  if (!(error instanceof FieldError)) return error;
  const path = joinPath(root, error.path);
  return new FlotillaError(ctx.code, `${path}: expected ${error.expected}`, { path });
}

/** Run `check`, turning a field failure into a FlotillaError rooted at `root`. */
export function checked<T>(ctx: ReadContext, root: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw asCheckError(ctx, root, error);
  }
}

/**
 * UTF-8 length of `s` as msgpack writes it, or -1 when `s` holds a lone surrogate (not
 * well-formed UTF-16: it would not survive a round trip, so no reader accepts it).
 */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** `String.prototype.isWellFormed` (ES2024: Node 20, current browsers), typed locally. */
interface WellFormedString {
  isWellFormed(): boolean;
}

const hasIsWellFormed = typeof (String.prototype as Partial<WellFormedString>).isWellFormed === 'function';

const NOT_WELL_FORMED = 'well-formed UTF-16 (no lone surrogates)';

/** A well-formed string of `minBytes`..`maxBytes` UTF-8 bytes. */
export function readString(v: unknown, path: string, maxBytes: number, minBytes = 0): string {
  if (typeof v !== 'string') invalid(path, 'a string');
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: a string short enough to fit even at 3
  // needs only the (native) well-formedness check, and an over-long one fails unscanned.
  if (v.length * 3 <= maxBytes && v.length >= minBytes && hasIsWellFormed) {
    if (!(v as unknown as WellFormedString).isWellFormed()) invalid(path, NOT_WELL_FORMED);
    return v;
  }
  const bytes = v.length > maxBytes ? maxBytes + 1 : utf8ByteLength(v);
  if (bytes < 0) invalid(path, NOT_WELL_FORMED);
  if (bytes < minBytes || bytes > maxBytes) invalid(path, `a string of ${minBytes}..${maxBytes} UTF-8 bytes`);
  return v;
}

/** A non-empty node id of at most NODE_ID_BYTES_MAX bytes. */
export function readNodeId(v: unknown, path = ''): string {
  return readString(v, path, NODE_ID_BYTES_MAX, 1);
}

/** A non-empty address of at most ADDRESS_BYTES_MAX bytes. */
export function readAddress(v: unknown, path = ''): string {
  return readString(v, path, ADDRESS_BYTES_MAX, 1);
}

/** An integer in `min`..`max` (default: any non-negative safe integer). */
export function readUint(v: unknown, path: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid(path, `an integer in ${min}..${max}`);
  // Normalise -0, which a float64 on the wire can carry.
  return v === 0 ? 0 : v;
}

/** An integer in 0..2^32-1. */
export function readUint32(v: unknown, path: string): number {
  return readUint(v, path, UINT32_MAX);
}

/** A boolean. */
export function readBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') invalid(path, 'a boolean');
  return v;
}

/** Bytes of at most `maxBytes`; copied when the context says so. */
export function readBytes(ctx: ReadContext, v: unknown, path: string, maxBytes: number): Uint8Array {
  if (!(v instanceof Uint8Array)) invalid(path, 'bytes');
  if (v.byteLength > maxBytes) invalid(path, `at most ${maxBytes} bytes`);
  return ctx.copyBytes ? new Uint8Array(v) : v;
}

/** An enumerated value carried as its index in `table`. */
export function readEnum<T>(v: unknown, path: string, table: readonly T[]): T {
  const value = typeof v === 'number' && Number.isInteger(v) ? table[v] : undefined;
  if (value === undefined) invalid(path, `a code in 0..${table.length - 1}`);
  return value;
}

/** nil (or undefined) as absent, anything else through `read`. */
export function readOptional<T>(v: unknown, read: (v: unknown) => T): T | undefined {
  return v === null || v === undefined ? undefined : read(v);
}

/** An array of at most `max` items, each checked by `item` (failures name the index). */
export function readArray<T>(v: unknown, path: string, max: number, item: (v: unknown) => T): T[] {
  if (!Array.isArray(v)) invalid(path, 'an array');
  if (v.length > max) invalid(path, `at most ${max} items`);
  const out = new Array<T>(v.length);
  let i = 0;
  try {
    for (; i < v.length; i++) out[i] = item(v[i] as unknown);
  } catch (error) {
    throw error instanceof FieldError ? new FieldError(joinPath(`${path}[${i}]`, error.path), error.expected) : error;
  }
  return out;
}

/** A fixed-arity positional record (a nested structure inside a message). */
export function readFields(v: unknown, arity: number, path = ''): readonly unknown[] {
  if (!Array.isArray(v) || v.length !== arity) invalid(path, `an array of ${arity} fields`);
  return v as readonly unknown[];
}

/**
 * Tags: a map of string to string, within TAGS_COUNT_MAX entries and TAGS_BYTES_MAX
 * bytes, keys non-empty. Built on a null prototype and refusing `__proto__`, so no key
 * can reach Object.prototype in this process or in any code that copies the tags.
 */
export function readTags(v: unknown, path = ''): Tags {
  if (!(v instanceof Map)) invalid(path, 'a map of string to string');
  if (v.size > TAGS_COUNT_MAX) invalid(path, `at most ${TAGS_COUNT_MAX} tags`);
  const tags = Object.create(null) as Record<string, string>;
  let bytes = 0;
  for (const [key, value] of v as Map<unknown, unknown>) {
    if (typeof key !== 'string' || typeof value !== 'string') invalid(path, 'string keys and values');
    if (key === '__proto__') invalid(path, 'no "__proto__" key');
    const keyBytes = utf8ByteLength(key);
    const valueBytes = utf8ByteLength(value);
    if (keyBytes < 1 || keyBytes > TAG_KEY_BYTES_MAX) invalid(path, `keys of 1..${TAG_KEY_BYTES_MAX} UTF-8 bytes`);
    if (valueBytes < 0) invalid(path, NOT_WELL_FORMED);
    bytes += keyBytes + valueBytes;
    if (bytes > TAGS_BYTES_MAX) invalid(path, `at most ${TAGS_BYTES_MAX} bytes of keys and values`);
    tags[key] = value;
  }
  return tags;
}

/** True for a plain object (literal or null prototype), the only shape tags take in a message. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
