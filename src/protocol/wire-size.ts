/**
 * Exact msgpack size of a wire tree, computed without packing it. It mirrors the
 * encodings msgpackr picks with the codec's options (shortest integer, string, bin, array
 * and map headers; integers beyond uint32 as float64), so gossip packing can fill a
 * datagram to the byte and the codec can refuse an oversized message before packing it.
 */
import { assert } from '../core/errors.js';
import { utf8ByteLength } from './validate.js';

/** Bytes of a msgpack array or map header for `count` entries. */
export function containerHeaderBytes(count: number): number {
  return count < 0x10 ? 1 : count < 0x10000 ? 3 : 5;
}

/** Bytes of a msgpack non-negative integer (negative values never occur in a valid wire tree). */
export function uintBytes(n: number): number {
  if (n >>> 0 !== n) return 9;
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Bytes of a msgpack string. */
export function stringBytes(s: string): number {
  const n = utf8ByteLength(s);
  assert(n >= 0, 'size of a string that validation should have refused');
  return (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

/** Bytes of a msgpack bin. */
export function binBytes(b: Uint8Array): number {
  const n = b.byteLength;
  return (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

/** Exact packed size of an already validated wire tree. */
export function wireSize(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return uintBytes(v);
  if (typeof v === 'string') return stringBytes(v);
  if (v instanceof Uint8Array) return binBytes(v);
  if (Array.isArray(v)) {
    let size = containerHeaderBytes(v.length);
    for (const item of v as unknown[]) size += wireSize(item);
    return size;
  }
  if (v instanceof Map) {
    let size = containerHeaderBytes(v.size);
    for (const [key, value] of v as Map<unknown, unknown>) size += wireSize(key) + wireSize(value);
    return size;
  }
  assert(false, `no wire size for a ${typeof v}`);
}
