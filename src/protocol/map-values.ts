/**
 * Map values on the wire: any msgpack value without extensions (JSON-like, plus bytes),
 * encoded once by whoever writes it (the smart client or a node) and stored as those
 * bytes. Shared by the map store and the client so both encode and decode alike; maps
 * decode as plain objects whose keys can never reach a prototype.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { packBody, unpackBody } from './msgpack.js';
import { scanValue } from './msgpack-scan.js';

/** What a map value may be. */
export type KvValue = null | boolean | number | string | Uint8Array | readonly KvValue[] | { readonly [key: string]: KvValue };

function bad(what: string): never {
  throw new FlotillaError('FLO_INVALID_ARGUMENT', `map: ${what}`);
}

/** Unpack untrusted bytes; every failure is FLO_INVALID_ARGUMENT. */
export function unpackValue(bytes: Uint8Array, what: string): unknown {
  try {
    return unpackBody(bytes);
  } catch (error) {
    if (isFlotillaError(error)) bad(`${what} is not msgpack (${error.code})`);
    throw error;
  }
}

/** Encode a user value. Throws FLO_INVALID_ARGUMENT for what msgpack cannot carry as a KvValue. */
export function encodeValue(value: KvValue): Uint8Array {
  if (value === undefined) bad('undefined is not a value (use delete)');
  try {
    return new Uint8Array(packBody(value));
  } catch {
    return bad('value cannot be encoded');
  }
}

/** Decode a stored value; maps come back as plain objects. */
export function decodeValue(bytes: Uint8Array): KvValue {
  return toPlain(unpackValue(bytes, 'value'));
}

/**
 * Check that `bytes` hold exactly one msgpack value (an encoded value from a client). The
 * structural scan is the whole check: once it passes, msgpackr reads the value (see
 * `unpackBody`), so building the value here would only cost a decode and its garbage per
 * write; readers decode the stored bytes when they need them.
 */
export function checkEncodedValue(bytes: Uint8Array): Uint8Array {
  let end: number;
  try {
    end = scanValue(bytes);
  } catch (error) {
    if (isFlotillaError(error)) bad(`value is not msgpack (${error.code})`);
    throw error;
  }
  if (end !== bytes.byteLength) bad('value is not msgpack (FLO_DECODE_INVALID)');
  return bytes;
}

function toPlain(v: unknown): KvValue {
  if (v instanceof Map) {
    const out: Record<string, KvValue> = {};
    for (const [k, item] of v) {
      // defineProperty, so a "__proto__" key stays an ordinary own property.
      Object.defineProperty(out, String(k), { value: toPlain(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as KvValue;
}
