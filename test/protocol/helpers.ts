/**
 * Test helpers: hand-crafted frames (any msgpack body under any type code) and an
 * expectation that a call throws a FlotillaError with a given code.
 */
import { Packr } from 'msgpackr';
import { expect } from 'vitest';
import { FlotillaError, type ErrorCode } from '../../src/core/errors.js';
import { WIRE_MAGIC } from '../../src/protocol/type-codes.js';

// A permissive packer for crafting hostile bodies (records, extensions, plain objects).
const craftPackr = new Packr({ useRecords: false });

/** A frame with `body` packed as msgpack under type `code`. */
export function craft(code: number, body: unknown): Uint8Array {
  return concat(new Uint8Array([WIRE_MAGIC, code]), craftPackr.pack(body));
}

/** Concatenate byte arrays into a fresh plain Uint8Array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The FlotillaError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): FlotillaError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    return error as FlotillaError;
  }
  throw new Error('expected a FlotillaError, nothing was thrown');
}

/** Expect `fn` to throw a FlotillaError with `code`. */
export function expectCode(fn: () => unknown, code: ErrorCode): FlotillaError {
  const error = thrown(fn);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** The decode error codes: the only codes `decode` may throw. */
export const DECODE_CODES: readonly ErrorCode[] = [
  'FLO_DECODE_MALFORMED',
  'FLO_DECODE_TRUNCATED',
  'FLO_DECODE_OVERSIZED',
  'FLO_DECODE_UNKNOWN_TYPE',
  'FLO_DECODE_INVALID',
];

/**
 * A deep copy fit for fast `toEqual`: byte arrays become hex strings (vitest compares
 * typed arrays element by element, which is slow for large payloads) and objects
 * become plain objects.
 */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}
