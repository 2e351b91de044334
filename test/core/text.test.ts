import { describe, expect, it } from 'vitest';
import { compareCodeUnits, hasLoneSurrogate } from '../../src/core/text.js';

describe('text checks without ICU', () => {
  it('finds a lone surrogate wherever it is, and passes pairs', () => {
    for (const bad of ['\uD800', '\uDC00', 'a\uD800b', 'a\uDC00', '\uD83D\uDE00\uD800', '\uDE00\uD83D']) expect(hasLoneSurrogate(bad), JSON.stringify(bad)).toBe(true);
    for (const good of ['', 'abc', '\uD83D\uDE00', 'é中\uD83D\uDE00x', '\uFFFF']) expect(hasLoneSurrogate(good), JSON.stringify(good)).toBe(false);
  });

  it('agrees with the well-formedness Unicode property escapes define', () => {
    const units = [0x41, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000];
    for (const a of units) {
      for (const b of units) {
        const text = String.fromCharCode(a, b);
        expect(hasLoneSurrogate(text), text).toBe(/\p{Cs}/u.test(text));
      }
    }
  });

  it('orders by code units, whatever the locale', () => {
    expect(['b', 'B', 'a', 'é', 'A', 'n10', 'n2'].sort(compareCodeUnits)).toEqual(['A', 'B', 'a', 'b', 'n10', 'n2', 'é']);
    expect(compareCodeUnits('x', 'x')).toBe(0);
  });
});
