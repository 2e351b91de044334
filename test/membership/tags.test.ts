import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { TAGS_BYTES_MAX } from '../../src/protocol/limits.js';
import { encodedTagsSize, tagsEqual, tagsMatch, validateTags } from '../../src/membership/tags.js';

describe('encodedTagsSize', () => {
  const cases: [string, Record<string, string>, number][] = [
    ['empty map', {}, 1],
    ['one short pair', { a: 'b' }, 5],
    ['utf-8 value', { z: 'é' }, 1 + 2 + 1 + 2],
    ['value of 32 bytes uses a 2-byte header', { k: 'x'.repeat(32) }, 1 + 2 + 2 + 32],
    ['value of 256 bytes uses a 3-byte header', { k: 'x'.repeat(256) }, 1 + 2 + 3 + 256],
  ];
  it.each(cases)('%s', (_name, tags, size) => {
    expect(encodedTagsSize(tags)).toBe(size);
  });
});

describe('validateTags', () => {
  it('accepts tags up to the limit', () => {
    // 1 (map) + 2 (key "k") + 3 + n <= 512
    const tags = { k: 'x'.repeat(TAGS_BYTES_MAX - 6) };
    expect(encodedTagsSize(tags)).toBe(TAGS_BYTES_MAX);
    expect(validateTags(tags)).toEqual(tags);
  });

  it('rejects tags over the limit with FLO_TAGS_TOO_LARGE', () => {
    let caught: unknown;
    try {
      validateTags({ k: 'x'.repeat(TAGS_BYTES_MAX - 5) });
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_TAGS_TOO_LARGE')).toBe(true);
  });

  it('rejects empty keys', () => {
    expect(() => validateTags({ '': 'x' })).toThrow(/empty/);
  });
});

describe('tag comparisons', () => {
  it('tagsEqual compares keys and values', () => {
    expect(tagsEqual({ a: '1' }, { a: '1' })).toBe(true);
    expect(tagsEqual({ a: '1' }, { a: '2' })).toBe(false);
    expect(tagsEqual({ a: '1' }, { a: '1', b: '2' })).toBe(false);
  });
  it('tagsMatch requires every wanted pair', () => {
    expect(tagsMatch({ zone: 'a', role: 'db' }, { zone: 'a' })).toBe(true);
    expect(tagsMatch({ zone: 'a' }, { zone: 'a', role: 'db' })).toBe(false);
    expect(tagsMatch({ zone: 'a' }, {})).toBe(true);
  });
});
