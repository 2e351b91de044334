// Incarnations: timestamp start, +1 modulo 2^32, and wraparound-safe serial comparison.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { compareIncarnation, compareVersioned, initialIncarnation, isIncarnation, nextIncarnation } from '../../src/core/incarnation.js';

const MAX = 0xffffffff;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'not a FlotillaError';
  }
  return undefined;
}

describe('initialIncarnation', () => {
  it.each([
    [0, 0],
    [1, 1],
    [MAX, MAX],
    [2 ** 32, 0],
    [2 ** 32 + 5, 5],
    [1_700_000_000_123, 1_700_000_000_123 % 2 ** 32],
    [12.9, 12],
  ])('from %s ms is %s', (now, expected) => {
    expect(initialIncarnation(now)).toBe(expected);
  });

  it('rejects a non-finite time', () => {
    expect(codeOf(() => initialIncarnation(Number.NaN))).toBe('FLO_INVALID_ARGUMENT');
  });

  it('lets a restart outrank the previous life and its refutations', () => {
    const firstStart = 1_700_000_000_000;
    let previous = initialIncarnation(firstStart);
    for (let i = 0; i < 50; i++) previous = nextIncarnation(previous);
    const restarted = initialIncarnation(firstStart + 5_000);
    expect(compareIncarnation(restarted, previous)).toBe(1);
  });

  it('lets a restart outrank the previous life across the 32-bit wrap', () => {
    const firstStart = 2 ** 32 * 395 - 1_000; // just before a wrap of the low 32 bits
    const previous = initialIncarnation(firstStart);
    const restarted = initialIncarnation(firstStart + 10_000);
    expect(restarted).toBeLessThan(previous);
    expect(compareIncarnation(restarted, previous)).toBe(1);
  });
});

describe('nextIncarnation', () => {
  it.each([
    [0, 1],
    [41, 42],
    [MAX - 1, MAX],
    [MAX, 0],
  ])('%s -> %s', (i, expected) => {
    expect(nextIncarnation(i)).toBe(expected);
  });

  it.each([-1, 2 ** 32, 1.5, Number.NaN])('rejects %s', (i) => {
    expect(codeOf(() => nextIncarnation(i))).toBe('FLO_INVALID_ARGUMENT');
  });
});

describe('compareIncarnation', () => {
  it.each([
    [0, 0, 0],
    [1, 0, 1],
    [0, 1, -1],
    [MAX, MAX, 0],
    [0, MAX, 1], // wrapped: 0 follows 0xffffffff
    [MAX, 0, -1],
    [5, MAX - 5, 1],
    [2 ** 31 - 1, 0, 1], // furthest ahead that still counts as ahead
    [2 ** 31 + 1, 0, -1], // past half the space: counts as behind
    [2 ** 31, 0, 1], // exactly half: numerically larger wins
    [0, 2 ** 31, -1],
    [100, 2 ** 31 + 100, -1],
  ])('compare(%s, %s) = %s', (a, b, expected) => {
    expect(compareIncarnation(a, b)).toBe(expected);
  });

  it('rejects out-of-range values', () => {
    expect(codeOf(() => compareIncarnation(-1, 0))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => compareIncarnation(0, 2 ** 32))).toBe('FLO_INVALID_ARGUMENT');
    expect(isIncarnation(MAX)).toBe(true);
    expect(isIncarnation(2 ** 32)).toBe(false);
  });

  it('is antisymmetric and next() always follows', () => {
    const inc = fc.integer({ min: 0, max: MAX });
    fc.assert(
      fc.property(inc, inc, (a, b) => compareIncarnation(a, b) === -compareIncarnation(b, a) && compareIncarnation(nextIncarnation(a), a) === 1),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('orders any two values less than 2^31 apart by their distance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (a, delta) => {
        return compareIncarnation((a + delta) >>> 0, a) === 1;
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});

describe('compareVersioned', () => {
  it.each([
    [{ incarnation: 2, nodeId: 'a' }, { incarnation: 1, nodeId: 'b' }, 1],
    [{ incarnation: 0, nodeId: 'a' }, { incarnation: MAX, nodeId: 'b' }, 1],
    [{ incarnation: 7, nodeId: 'a' }, { incarnation: 7, nodeId: 'b' }, -1],
    [{ incarnation: 7, nodeId: 'b' }, { incarnation: 7, nodeId: 'a' }, 1],
    [{ incarnation: 7, nodeId: 'a' }, { incarnation: 7, nodeId: 'a' }, 0],
    [{ incarnation: 7, nodeId: 'Z' }, { incarnation: 7, nodeId: 'a' }, -1], // code unit order
  ])('compare(%j, %j) = %s', (a, b, expected) => {
    expect(compareVersioned(a, b)).toBe(expected);
  });
});
