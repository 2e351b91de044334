/**
 * MurmurHash3 x86_32, the hash behind `partitionOf`. Client and server must agree on it
 * bit for bit, so it is written with 32-bit integer math only (`Math.imul`, `>>> 0`)
 * and gives the same answer on every JS engine.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Largest scratch buffer kept between calls for UTF-8 encoding non-ASCII strings. Longer
 * keys get a one-off buffer, so one huge key does not pin its size in memory forever.
 */
export const UTF8_SCRATCH_BYTES_MAX = 64 * 1024;

let scratch = new Uint8Array(256);

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixTail(h: number, tail: number): number {
  let k = Math.imul(tail, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  return h ^ k;
}

function finalizeHash(h: number, byteLength: number): number {
  h ^= byteLength;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Takes an explicit length so the scratch buffer can be hashed without a subarray view.
function hashBytes(bytes: Uint8Array, length: number, seed: number): number {
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = length & 3;
  if (rest !== 0) {
    let tail = bytes[i]!;
    if (rest >= 2) tail |= bytes[i + 1]! << 8;
    if (rest === 3) tail |= bytes[i + 2]! << 16;
    h = mixTail(h, tail);
  }
  return finalizeHash(h, length);
}

/**
 * MurmurHash3_x86_32 of `bytes` with `seed`, as an unsigned 32-bit integer. Matches the
 * reference C++ implementation (`MurmurHash3_x86_32` in smhasher).
 */
export function murmur3_x86_32(bytes: Uint8Array, seed = 0): number {
  return hashBytes(bytes, bytes.length, seed);
}

/**
 * MurmurHash3_x86_32 of the UTF-8 encoding of `text`, without allocating for ASCII
 * text. Lone surrogates are encoded as U+FFFD, as `TextEncoder` does, so the result
 * always equals `murmur3_x86_32(new TextEncoder().encode(text), seed)`.
 */
export function murmur3Utf8(text: string, seed = 0): number {
  const length = text.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return hashNonAscii(text, seed);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = length & 3;
  if (rest !== 0) {
    const c0 = text.charCodeAt(i);
    const c1 = rest >= 2 ? text.charCodeAt(i + 1) : 0;
    const c2 = rest === 3 ? text.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) >= 0x80) return hashNonAscii(text, seed);
    h = mixTail(h, c0 | (c1 << 8) | (c2 << 16));
  }
  return finalizeHash(h, length);
}

function hashNonAscii(text: string, seed: number): number {
  // Every UTF-16 code unit encodes to at most 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes).
  const bytesMax = text.length * 3;
  let buffer = scratch;
  if (bytesMax > buffer.length) {
    if (bytesMax > UTF8_SCRATCH_BYTES_MAX) {
      buffer = new Uint8Array(bytesMax);
    } else {
      // Doubling keeps a run of ever-longer keys from reallocating on every call.
      buffer = new Uint8Array(Math.min(UTF8_SCRATCH_BYTES_MAX, Math.max(bytesMax, buffer.length * 2)));
      scratch = buffer;
    }
  }
  const written = encodeUtf8Into(text, buffer);
  return hashBytes(buffer, written, seed);
}

/** Writes the UTF-8 encoding of `text` into `out` (large enough: 3 bytes per code unit). */
function encodeUtf8Into(text: string, out: Uint8Array): number {
  const length = text.length;
  let p = 0;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
    } else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[p++] = 0xf0 | (c >> 18);
        out[p++] = 0x80 | ((c >> 12) & 0x3f);
        out[p++] = 0x80 | ((c >> 6) & 0x3f);
        out[p++] = 0x80 | (c & 0x3f);
      } else {
        out[p++] = 0xef; // U+FFFD replacement character
        out[p++] = 0xbf;
        out[p++] = 0xbd;
      }
    } else {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
      out[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}
