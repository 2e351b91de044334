// The live-query filter language: every operator on plain and msgpack-decoded values,
// paths ($key, $value, dotted, array indexes), evaluation that never throws on odd
// values, and validation with bounds and FLO_INVALID_ARGUMENT naming the bad part.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { compileFilter, FILTER_DEPTH_MAX, FILTER_NODES_MAX, FILTER_STRING_BYTES_MAX, parseFilter, type QueryFilter } from '../../src/protocol/query-filter.js';
import { packBody, unpackBody } from '../../src/protocol/msgpack.js';

const test = (f: QueryFilter, key: string, value: unknown): boolean => compileFilter(parseFilter(f))(key, value);

function refusal(input: unknown): string {
  try {
    parseFilter(input);
  } catch (error) {
    if (isFlotillaError(error) && error.code === 'FLO_INVALID_ARGUMENT') return error.message;
    throw error;
  }
  throw new Error('accepted');
}

describe('filter evaluation', () => {
  const ada = { name: 'Ada', age: 36, tags: ['math', 'eng'], address: { city: 'London' }, pets: [{ kind: 'cat' }], nil: null };

  it('compares fields by value and type', () => {
    expect(test({ op: 'eq', path: 'name', value: 'Ada' }, 'k', ada)).toBe(true);
    expect(test({ op: 'eq', path: 'name', value: 'ada' }, 'k', ada)).toBe(false);
    expect(test({ op: 'eq', path: 'age', value: '36' }, 'k', ada)).toBe(false);
    expect(test({ op: 'ne', path: 'age', value: 37 }, 'k', ada)).toBe(true);
    expect(test({ op: 'ne', path: 'age', value: 36 }, 'k', ada)).toBe(false);
    expect(test({ op: 'ne', path: 'missing', value: 1 }, 'k', ada)).toBe(false);
    expect(test({ op: 'eq', path: 'nil', value: null }, 'k', ada)).toBe(true);
    expect(test({ op: 'eq', path: 'missing', value: null }, 'k', ada)).toBe(false);
    expect(test({ op: 'gt', path: 'age', value: 35 }, 'k', ada)).toBe(true);
    expect(test({ op: 'gt', path: 'age', value: 36 }, 'k', ada)).toBe(false);
    expect(test({ op: 'gte', path: 'age', value: 36 }, 'k', ada)).toBe(true);
    expect(test({ op: 'lt', path: 'age', value: 36 }, 'k', ada)).toBe(false);
    expect(test({ op: 'lte', path: 'age', value: 36 }, 'k', ada)).toBe(true);
    expect(test({ op: 'lt', path: 'name', value: 'B' }, 'k', ada)).toBe(true);
    // Ordering across types is no match either way.
    expect(test({ op: 'lt', path: 'name', value: 5 }, 'k', ada)).toBe(false);
    expect(test({ op: 'gte', path: 'name', value: 5 }, 'k', ada)).toBe(false);
    expect(test({ op: 'gt', path: 'missing', value: 0 }, 'k', ada)).toBe(false);
  });

  it('reads paths: $key, $value, nested fields and array indexes', () => {
    expect(test({ op: 'prefix', path: '$key', value: 'u-' }, 'u-1', ada)).toBe(true);
    expect(test({ op: 'prefix', path: '$key', value: 'u-' }, 'x-1', ada)).toBe(false);
    expect(test({ op: 'gt', path: '$value', value: 10 }, 'k', 11)).toBe(true);
    expect(test({ op: 'eq', path: 'address.city', value: 'London' }, 'k', ada)).toBe(true);
    expect(test({ op: 'eq', path: 'pets.0.kind', value: 'cat' }, 'k', ada)).toBe(true);
    expect(test({ op: 'exists', path: 'pets.1' }, 'k', ada)).toBe(false);
    expect(test({ op: 'exists', path: 'address.city.x' }, 'k', ada)).toBe(false);
    expect(test({ op: 'exists', path: 'nil' }, 'k', ada)).toBe(true);
  });

  it('has in, prefix, contains (substring or array element) and the combinators', () => {
    expect(test({ op: 'in', path: 'age', values: [1, 36] }, 'k', ada)).toBe(true);
    expect(test({ op: 'in', path: 'tags', values: ['math'] }, 'k', ada)).toBe(false);
    expect(test({ op: 'prefix', path: 'name', value: 'Ad' }, 'k', ada)).toBe(true);
    expect(test({ op: 'prefix', path: 'age', value: '3' }, 'k', ada)).toBe(false);
    expect(test({ op: 'contains', path: 'name', value: 'd' }, 'k', ada)).toBe(true);
    expect(test({ op: 'contains', path: 'tags', value: 'eng' }, 'k', ada)).toBe(true);
    expect(test({ op: 'contains', path: 'tags', value: 'bio' }, 'k', ada)).toBe(false);
    const adult: QueryFilter = { op: 'gte', path: 'age', value: 18 };
    expect(test({ op: 'and', filters: [adult, { op: 'eq', path: 'address.city', value: 'Paris' }] }, 'k', ada)).toBe(false);
    expect(test({ op: 'or', filters: [adult, { op: 'eq', path: 'address.city', value: 'Paris' }] }, 'k', ada)).toBe(true);
    expect(test({ op: 'not', filter: adult }, 'k', ada)).toBe(false);
    expect(test({ op: 'not', filter: { op: 'exists', path: 'x' } }, 'k', ada)).toBe(true);
  });

  it('evaluates msgpack-decoded values (maps as Map) and never throws on odd ones', () => {
    const decoded = unpackBody(new Uint8Array(packBody(ada)));
    expect(decoded).toBeInstanceOf(Map);
    expect(test({ op: 'eq', path: 'address.city', value: 'London' }, 'k', decoded)).toBe(true);
    expect(test({ op: 'contains', path: 'tags', value: 'math' }, 'k', decoded)).toBe(true);
    expect(test({ op: 'eq', path: 'n', value: 5 }, 'k', new Map([['n', 5n]]))).toBe(true);
    expect(test({ op: 'gt', path: 'n', value: 4 }, 'k', new Map([['n', 5n]]))).toBe(true);
    const f = compileFilter(parseFilter({ op: 'and', filters: [{ op: 'gt', path: 'a.b.c', value: 1 }, { op: 'contains', path: 'a', value: 'x' }] }));
    for (const odd of [undefined, null, 0, 'str', [], [1, 2], new Uint8Array(3), new Map(), { a: null }, { a: { b: 'x' } }, { a: [1] }, Object.create(null)]) {
      expect(f('k', odd)).toBe(false);
    }
    // Inherited properties are not fields.
    expect(test({ op: 'exists', path: 'constructor' }, 'k', {})).toBe(false);
    expect(test({ op: 'exists', path: 'toString' }, 'k', new Map())).toBe(false);
  });
});

describe('filter validation', () => {
  it('accepts what was given and reads msgpack-decoded filters', () => {
    const f: QueryFilter = { op: 'or', filters: [{ op: 'in', path: 'a', values: [1, 'x', null, true] }, { op: 'not', filter: { op: 'exists', path: '$key' } }] };
    expect(parseFilter(f)).toEqual(f);
    expect(parseFilter(unpackBody(new Uint8Array(packBody(f))))).toEqual(f);
  });

  it('refuses bad filters with FLO_INVALID_ARGUMENT naming the part', () => {
    expect(refusal(null)).toMatch(/an object with an op/);
    expect(refusal({ op: 'like', path: 'a', value: 'x' })).toMatch(/filter\.op: one of/);
    expect(refusal({ op: 'eq', path: 'a' })).toMatch(/filter\.value/);
    expect(refusal({ op: 'eq', path: 'a', value: { x: 1 } })).toMatch(/filter\.value/);
    expect(refusal({ op: 'eq', path: 'a', value: Number.NaN })).toMatch(/finite/);
    expect(refusal({ op: 'eq', path: '', value: 1 })).toMatch(/filter\.path/);
    expect(refusal({ op: 'eq', path: 'a..b', value: 1 })).toMatch(/non-empty segments/);
    expect(refusal({ op: 'prefix', path: 'a', value: 1 })).toMatch(/filter\.value: a string/);
    expect(refusal({ op: 'in', path: 'a', values: 'x' })).toMatch(/filter\.values: an array/);
    expect(refusal({ op: 'and', filters: [] })).toMatch(/filter\.filters: a non-empty array/);
    expect(refusal({ op: 'and', filters: [{ op: 'eq', path: 'a', value: 1 }, { op: 'exists' }] })).toMatch(/filter\.filters\[1\]\.path/);
    expect(refusal({ op: 'eq', path: 'a', value: 'x'.repeat(FILTER_STRING_BYTES_MAX + 1) })).toMatch(/filter\.value/);
  });

  it('bounds depth, node count and path length', () => {
    let deep: QueryFilter = { op: 'exists', path: 'a' };
    for (let i = 0; i < FILTER_DEPTH_MAX; i++) deep = { op: 'not', filter: deep };
    expect(() => parseFilter(deep)).not.toThrow();
    expect(refusal({ op: 'not', filter: deep })).toMatch(/nested deeper than/);
    const wide = { op: 'or', filters: Array.from({ length: FILTER_NODES_MAX }, () => ({ op: 'exists', path: 'a' })) };
    expect(refusal(wide)).toMatch(/more than 256 nodes/);
    expect(refusal({ op: 'in', path: 'a', values: Array.from({ length: FILTER_NODES_MAX }, (_, i) => i) })).toMatch(/more than 256 nodes/);
    expect(refusal({ op: 'exists', path: Array.from({ length: 33 }, () => 'a').join('.') })).toMatch(/dotted path/);
  });
});
