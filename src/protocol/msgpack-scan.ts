/**
 * A structural pre-scan of one msgpack value, run before msgpackr sees a frame body. It
 * walks headers without building anything, iteratively (no recursion), and decides the
 * cases msgpackr would blur: where the value ends (so trailing bytes and truncation are
 * told apart exactly, whatever msgpackr's native string extractor reads ahead), nesting
 * deeper than any message needs, and extension types, which the protocol never uses and
 * which msgpackr would turn into records, dates, typed arrays, errors or regexps.
 */
import { FlotillaError } from '../core/errors.js';

/** Deepest nesting of arrays and maps a frame body may have (messages need 5). */
export const NESTING_DEPTH_MAX = 8;

function truncated(): never {
  throw new FlotillaError('FLO_DECODE_TRUNCATED', 'frame ends inside a value');
}

function malformed(detail: string): never {
  throw new FlotillaError('FLO_DECODE_MALFORMED', detail);
}

/** Bytes after the token of each fixed-size scalar (nil, booleans, ints, floats); -1 otherwise. */
const SCALAR_SKIP = new Int8Array(256).fill(-1);
for (let t = 0x00; t <= 0x7f; t++) SCALAR_SKIP[t] = 0;
for (let t = 0xe0; t <= 0xff; t++) SCALAR_SKIP[t] = 0;
for (const [t, skip] of [
  [0xc0, 0], [0xc2, 0], [0xc3, 0], [0xca, 4], [0xcb, 8],
  [0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8],
] as const) SCALAR_SKIP[t] = skip;

/** Width of the length field of str and bin types (the length counts bytes to skip). */
const BYTES_LENGTH_WIDTH: ReadonlyMap<number, 1 | 2 | 4> = new Map([
  [0xc4, 1], [0xc5, 2], [0xc6, 4], [0xd9, 1], [0xda, 2], [0xdb, 4],
]);

/** Width of the count field of array16/32 and map16/32, and values per counted entry. */
const CONTAINER_HEADER: ReadonlyMap<number, readonly [1 | 2 | 4, number]> = new Map([
  [0xdc, [2, 1]], [0xdd, [4, 1]], [0xde, [2, 2]], [0xdf, [4, 2]],
] as const);

function readLength(bytes: Uint8Array, at: number, width: 1 | 2 | 4): number {
  if (at + width > bytes.byteLength) truncated();
  if (width === 1) return bytes[at]!;
  if (width === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
  return bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

/** What one header says: `skip` more bytes to its end, and `items` nested values (0 for a scalar). */
interface Header {
  skip: number;
  items: number;
}

/** Decode the header of the value whose token byte is at `at`. */
function readHeader(bytes: Uint8Array, at: number, out: Header): void {
  const token = bytes[at]!;
  out.items = 0;
  const scalar = SCALAR_SKIP[token]!;
  if (scalar >= 0) {
    out.skip = scalar;
  } else if (token <= 0x9f) {
    out.skip = 0;
    out.items = token <= 0x8f ? (token & 0x0f) * 2 : token & 0x0f;
  } else if (token <= 0xbf) {
    out.skip = token & 0x1f;
  } else {
    const width = BYTES_LENGTH_WIDTH.get(token);
    const container = CONTAINER_HEADER.get(token);
    if (width !== undefined) {
      out.skip = width + readLength(bytes, at + 1, width);
    } else if (container !== undefined) {
      out.skip = container[0];
      out.items = readLength(bytes, at + 1, container[0]) * container[1];
    } else if (token === 0xc1) {
      malformed('reserved msgpack byte 0xc1');
    } else {
      malformed(`msgpack extension type (0x${token.toString(16)}) is not part of the protocol`);
    }
  }
}

/**
 * Offset just past the one msgpack value at the start of `bytes`. Throws
 * FLO_DECODE_TRUNCATED when the bytes end inside it and FLO_DECODE_MALFORMED for
 * extension types, the reserved byte, or nesting deeper than NESTING_DEPTH_MAX. Work is
 * bounded by the input: every value takes at least one byte.
 */
export function scanValue(bytes: Uint8Array): number {
  const end = bytes.byteLength;
  const parents: number[] = [];
  const h: Header = { skip: 0, items: 0 };
  let remaining = 1;
  let at = 0;
  for (;;) {
    if (remaining === 0) {
      if (parents.length === 0) return at;
      remaining = parents.pop()!;
      continue;
    }
    remaining--;
    if (at >= end) truncated();
    readHeader(bytes, at, h);
    at += 1 + h.skip;
    if (at > end) truncated();
    if (h.items > 0) {
      if (parents.length >= NESTING_DEPTH_MAX) malformed(`nesting deeper than ${NESTING_DEPTH_MAX}`);
      parents.push(remaining);
      remaining = h.items;
    }
  }
}
