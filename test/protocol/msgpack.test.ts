// packTransient hands out views into msgpackr's buffer instead of copies; what makes that
// safe is that msgpackr never writes over bytes it handed out. Keep many views of packs of
// every size (some larger than msgpackr's buffer) and check each still decodes to its value.
import { describe, expect, it } from 'vitest';
import { packBody, packTransient, unpackBody } from '../../src/protocol/msgpack.js';

describe('packTransient', () => {
  it('returns plain Uint8Array views that later packs never overwrite', () => {
    const kept: [Uint8Array, unknown][] = [];
    for (let i = 0; i < 5_000; i++) {
      const value = i % 11 === 0 ? ['x'.repeat((i * 37) % 20_000), i] : [i, 'y'.repeat(i % 300), i % 2 === 0];
      const bytes = packTransient(value);
      expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
      kept.push([bytes, value]);
      // Copying packs share the packer: they must not write over the views either.
      packBody({ noise: i });
    }
    for (const [bytes, value] of kept) expect(unpackBody(bytes)).toEqual(value);
  });
});
