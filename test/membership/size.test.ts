import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateMessageSize, estimateUpdateSize, mapEncodedSize, utf8Length } from '../../src/membership/size.js';
import { encodedSize } from '../../src/protocol/codec.js';
import { anyMessage, anyUpdate } from '../protocol/arbitraries.js';

describe('size estimates', () => {
  it.each([
    ['', 0],
    ['node-001', 8],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
  ])('utf8Length(%j) = %i', (text, bytes) => {
    expect(utf8Length(text)).toBe(bytes);
  });

  it('the per-type fast paths agree with walking the object', () => {
    fc.assert(
      fc.property(anyMessage, (m) => estimateMessageSize(m) === mapEncodedSize(m) + 8),
      { seed: 42, numRuns: 2_000 },
    );
    fc.assert(
      fc.property(anyUpdate, (u) => estimateUpdateSize(u) === mapEncodedSize(u) + 8),
      { seed: 42, numRuns: 1_000 },
    );
  });

  it('never under-estimates the codec', () => {
    fc.assert(
      fc.property(anyMessage, (m) => estimateMessageSize(m) >= encodedSize(m)),
      { seed: 42, numRuns: 2_000 },
    );
  });
});
