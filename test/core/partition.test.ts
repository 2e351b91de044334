// partitionOf and MurmurHash3 x86_32: published reference vectors, the vectors in
// docs/partitioning.md (parsed from the doc, so doc and code cannot drift), an independent
// BigInt reference, and range properties.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DEFAULT_PARTITION_COUNT } from '../../src/core/model.js';
import { murmur3Utf8, murmur3_x86_32 } from '../../src/core/murmur3.js';
import { PARTITION_COUNT_MAX, partitionOf } from '../../src/core/partition.js';

const M32 = (1n << 32n) - 1n;

/**
 * A second implementation written differently on purpose: BigInt arithmetic, DataView
 * reads, TextEncoder for UTF-8. It shares no code or integer tricks with src/core/murmur3.ts.
 */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const mul = (a: bigint, b: bigint): bigint => (a * b) & M32;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M32;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c1 = 0xcc9e2d51n;
  const c2 = 0x1b873593n;
  let h = BigInt(seed >>> 0);
  const blocks = Math.floor(bytes.length / 4);
  for (let b = 0; b < blocks; b++) {
    let k = BigInt(view.getUint32(b * 4, true));
    k = mul(rotl(mul(k, c1), 15n), c2);
    h = rotl(h ^ k, 13n);
    h = (mul(h, 5n) + 0xe6546b64n) & M32;
  }
  let k = 0n;
  for (let t = bytes.length - 1; t >= blocks * 4; t--) k = (k << 8n) | BigInt(bytes[t]!);
  if (bytes.length % 4 !== 0) h ^= mul(rotl(mul(k, c1), 15n), c2);
  h ^= BigInt(bytes.length);
  h ^= h >> 16n;
  h = mul(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return Number(h);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('murmur3_x86_32 published vectors', () => {
  // From the reference implementation (smhasher) as collected and cross-checked publicly.
  const stringVectors: [string, number, number][] = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['aa', 0x9747b28c, 0x5d211726],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['ab', 0x9747b28c, 0x74875592],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['hello', 0, 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ];
  it.each(stringVectors)('%j seed %i', (text, seed, expected) => {
    expect(murmur3_x86_32(utf8(text), seed)).toBe(expected);
    expect(murmur3Utf8(text, seed)).toBe(expected);
    expect(referenceMurmur3(utf8(text), seed)).toBe(expected);
  });

  const byteVectors: [number[], number, number][] = [
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0, 0, 0], 0, 0x85f0b427],
    [[0, 0], 0, 0x30f4c306],
    [[0], 0, 0x514e28b7],
  ];
  it.each(byteVectors)('bytes %j seed %i', (bytes, seed, expected) => {
    expect(murmur3_x86_32(new Uint8Array(bytes), seed)).toBe(expected);
    expect(referenceMurmur3(new Uint8Array(bytes), seed)).toBe(expected);
  });

  it('hashes a subarray view by its own bytes only', () => {
    const whole = utf8('xxhelloyy');
    expect(murmur3_x86_32(whole.subarray(2, 7))).toBe(0x248bfa47);
  });
});

interface DocVector {
  key: string;
  bytesHex: string;
  hash: number;
  partition: number;
}

function parseDocVectors(): DocVector[] {
  const doc = readFileSync(new URL('../../docs/partitioning.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Test vectors'));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, ''));
    expect(cells).toHaveLength(4);
    const [key, bytesHex, hash, partition] = cells as [string, string, string, string];
    return { key: JSON.parse(key) as string, bytesHex: bytesHex === '(none)' ? '' : bytesHex, hash: Number(hash), partition: Number(partition) };
  });
}

describe('docs/partitioning.md test vectors', () => {
  const vectors = parseDocVectors();

  it('publishes the empty key, ASCII, accented, CJK, emoji and lone-surrogate keys', () => {
    const keys = vectors.map((v) => v.key);
    expect(keys).toContain('');
    expect(keys).toContain('hello');
    expect(keys).toContain('café');
    expect(keys).toContain('cafe\u0301');
    expect(keys).toContain('日本語');
    expect(keys).toContain('😀');
    expect(keys).toContain('a\ud800b');
    expect(vectors.length).toBeGreaterThanOrEqual(20);
  });

  it.each(vectors.map((v) => [JSON.stringify(v.key), v] as const))('%s', (_label, v) => {
    const bytes = utf8(v.key);
    expect(hex(bytes)).toBe(v.bytesHex);
    expect(murmur3_x86_32(bytes)).toBe(v.hash);
    expect(referenceMurmur3(bytes, 0)).toBe(v.hash);
    expect(murmur3Utf8(v.key)).toBe(v.hash);
    expect(partitionOf(v.key, 271)).toBe(v.partition);
    expect(partitionOf(v.key)).toBe(v.partition);
  });
});

describe('partitionOf', () => {
  it('defaults to 271 partitions', () => {
    expect(DEFAULT_PARTITION_COUNT).toBe(271);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, PARTITION_COUNT_MAX + 1])('rejects count %s', (count) => {
    let thrown: unknown;
    try {
      partitionOf('k', count);
    } catch (err) {
      thrown = err;
    }
    expect(isFlotillaError(thrown, 'FLO_INVALID_ARGUMENT')).toBe(true);
  });

  it('maps everything to 0 with one partition', () => {
    expect(partitionOf('anything', 1)).toBe(0);
  });

  it('equals the TextEncoder path for any string, surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), (text, seed) => {
        const expected = referenceMurmur3(utf8(text), seed);
        return murmur3Utf8(text, seed) === expected && murmur3_x86_32(utf8(text), seed) === expected;
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('handles arbitrary UTF-16 code units, lone surrogates included', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 });
    fc.assert(
      fc.property(units, (codes) => {
        const text = String.fromCharCode(...codes);
        return murmur3Utf8(text) === referenceMurmur3(utf8(text), 0);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('encodes keys longer than the scratch buffer correctly', () => {
    const long = 'é日😀'.repeat(10_000);
    expect(murmur3Utf8(long)).toBe(referenceMurmur3(utf8(long), 0));
    const medium = 'ключ-東京-'.repeat(30); // grows the reused scratch buffer
    expect(murmur3Utf8(medium)).toBe(referenceMurmur3(utf8(medium), 0));
    // A short key after longer ones must not pick up their leftover bytes.
    expect(murmur3Utf8('é')).toBe(referenceMurmur3(utf8('é'), 0));
  });

  it('always returns an integer in [0, count)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: PARTITION_COUNT_MAX }), (key, count) => {
        const p = partitionOf(key, count);
        return Number.isInteger(p) && p >= 0 && p < count;
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('spreads sequential keys evenly over 271 partitions', () => {
    const counts = new Array<number>(271).fill(0);
    const keys = 271 * 200;
    for (let i = 0; i < keys; i++) counts[partitionOf(`user:${i}`)]! += 1;
    // Expected 200 per partition; a fair hash stays well within +-40% at this size.
    expect(Math.min(...counts)).toBeGreaterThan(120);
    expect(Math.max(...counts)).toBeLessThan(280);
  });
});
