/**
 * The msgpackr instances the codec uses, configured for plain interoperable msgpack
 * (no records, no structured clone, no extension types on encode) and a safe
 * `unpackBody` that turns every msgpackr failure into a catalogued decode error.
 */
import { Packr, Unpackr } from 'msgpackr';
import { FlotillaError } from '../core/errors.js';
import { scanValue } from './msgpack-scan.js';

// Encode only standard msgpack: positional arrays, strings, integers, booleans, nil, bin
// and maps (tags). Records and bundled strings are msgpackr-specific; turning them off
// keeps frames readable by any msgpack library (and keeps the size estimate exact).
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  encodeUndefinedAsNil: true,
});

// Maps decode as Map (never as objects, so no key can reach a prototype); 64-bit
// integers as numbers (the readers refuse anything beyond 2^53); bin fields as views,
// which the readers copy out. Extension types never reach it (see msgpack-scan.ts).
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  int64AsType: 'number',
  copyBuffers: false,
});

/**
 * Pack a wire tree. The result is msgpackr's view into its own reusable buffer (a Buffer
 * under Node): copy it before handing it out.
 */
export function packBody(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Pack a wire tree into bytes that are sent or decoded at once: a plain view into
 * msgpackr's buffer instead of a copy (a copy of more than 64 bytes is a fresh off-heap
 * allocation, per message). msgpackr never writes over bytes it handed out (it packs on
 * after them, then into a fresh buffer), so the view stays valid; but it keeps that buffer
 * (8 KiB, or the message's size) alive, so bytes that are kept must come from `packBody`
 * copied.
 */
export function packTransient(value: unknown): Uint8Array {
  const bytes = packr.pack(value);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Unpack exactly one msgpack value filling `bytes`. Throws FLO_DECODE_TRUNCATED when the
 * bytes end inside the value, FLO_DECODE_INVALID when bytes follow it, and
 * FLO_DECODE_MALFORMED for extension types, excessive nesting, or anything msgpackr
 * cannot read. The structure is checked by `scanValue` first, so msgpackr only ever
 * sees one complete value of standard types.
 */
export function unpackBody(bytes: Uint8Array): unknown {
  const end = scanValue(bytes);
  if (end !== bytes.byteLength) {
    throw new FlotillaError('FLO_DECODE_INVALID', `${bytes.byteLength - end} trailing bytes after the message`);
  }
  try {
    return unpackr.unpack(bytes);
  } catch (error) {
    throw new FlotillaError('FLO_DECODE_MALFORMED', `not msgpack: ${error instanceof Error ? error.message.slice(0, 200) : 'unreadable'}`);
  }
}
