// The weak-secret guard of `flotilla start`, table-driven: short, repetitive and published
// secrets are refused with advice; random ones of the documented kinds always pass.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { distinctTrigramShare, estimateSecretBits, SECRET_GENERATOR, START_SECRET_CHARS_MIN, weakSecretReason } from '../../src/cli/secret-strength.js';
import { SeededRandom } from '../../src/core/random.js';

describe('weakSecretReason', () => {
  it.each([
    ['a short secret', 'a-long-cluster-secret-0123', /too short: 26 characters/],
    ['one character repeated', 'a'.repeat(64), /too little entropy/],
    ['two characters alternating', 'ab'.repeat(20), /too little entropy/],
    ['a repeated word', 'admin-admin-admin-admin-admin-admin', /too little entropy/],
    ['a published value', 'flotilla-dev-secret-do-not-use-in-production', /public development value/],
  ])('refuses %s, pointing at the generator', (_name, secret, reason) => {
    const why = weakSecretReason(secret, ['flotilla-dev-secret-do-not-use-in-production']);
    expect(why).toMatch(reason);
    expect(why).toContain(SECRET_GENERATOR);
  });

  it('passes random secrets of the documented kinds, whatever the draw', () => {
    const random = new SeededRandom(7);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => random.int(256)));
    for (let i = 0; i < 2_000; i++) {
      expect(weakSecretReason(bytes(32).toString('base64'))).toBeUndefined();
      expect(weakSecretReason(bytes(16).toString('hex'))).toBeUndefined();
    }
    expect(weakSecretReason(randomBytes(32).toString('base64'))).toBeUndefined();
  });

  it('estimates from length and character frequencies, and measures repeats', () => {
    expect(estimateSecretBits('a'.repeat(START_SECRET_CHARS_MIN))).toBe(0);
    expect(estimateSecretBits('0123456789abcdef')).toBe(64);
    expect(distinctTrigramShare('abcdefgh')).toBe(1);
    expect(distinctTrigramShare('abcabcabc')).toBeCloseTo(3 / 7);
  });
});
