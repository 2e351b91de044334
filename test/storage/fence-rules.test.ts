// The pure rules behind the contract: code point ordering (checked against UTF-8 byte
// order, which SQLite and PostgreSQL "C" use) and argument validation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { compareCodePoints } from '../../src/storage/fence-rules.js';
import { checkClaim, checkEntityKey, ENTITY_ID_LENGTH_MAX, ENTITY_TYPE_LENGTH_MAX } from '../../src/storage/validation.js';

describe('compareCodePoints', () => {
  const cases: [string, string, number][] = [
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['', 'a', -1],
    ['ab', 'a', 1],
    ['\uFFFF', '\u{10000}', -1],
    ['\u{1F600}', '\uE000', 1],
    ['\u{1F600}', '\u{1F601}', -1],
  ];
  for (const [a, b, sign] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)} -> ${sign}`, () => {
      expect(Math.sign(compareCodePoints(a, b))).toBe(sign);
    });
  }

  it('agrees with UTF-8 byte order on any well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))));
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('argument checks', () => {
  const refused = (body: () => void): boolean => {
    try {
      body();
      return false;
    } catch (error) {
      return isFlotillaError(error, 'FLO_INVALID_ARGUMENT');
    }
  };

  it('entity keys: non-empty, bounded, well-formed, no NUL', () => {
    expect(refused(() => checkEntityKey('t', 'x'))).toBe(false);
    expect(refused(() => checkEntityKey('t'.repeat(ENTITY_TYPE_LENGTH_MAX), 'x'.repeat(ENTITY_ID_LENGTH_MAX)))).toBe(false);
    expect(refused(() => checkEntityKey('t', '\u{1F600}'))).toBe(false);
    expect(refused(() => checkEntityKey('', 'x'))).toBe(true);
    expect(refused(() => checkEntityKey('t'.repeat(ENTITY_TYPE_LENGTH_MAX + 1), 'x'))).toBe(true);
    expect(refused(() => checkEntityKey('t', 'x'.repeat(ENTITY_ID_LENGTH_MAX + 1)))).toBe(true);
    expect(refused(() => checkEntityKey('t', 'a\u0000b'))).toBe(true);
    expect(refused(() => checkEntityKey('t', '\uDC00'))).toBe(true);
  });

  it('claims: non-negative safe integers and a node id', () => {
    expect(refused(() => checkClaim(0, 0, 'n'))).toBe(false);
    expect(refused(() => checkClaim(0, 2 ** 53, 'n'))).toBe(true);
    expect(refused(() => checkClaim(Number.NaN, 1, 'n'))).toBe(true);
    expect(refused(() => checkClaim(1, -1, 'n'))).toBe(true);
  });
});
