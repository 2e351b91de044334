import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOp, decodeOp, encodeOp, isWriteOp, KvCall, type KvOp } from '../../src/grid/map-ops.js';

const VALUE_MAX = 64;

/** What a check or a decode gives: the op, or the code and message it throws. */
function outcome(run: () => KvOp): unknown {
  try {
    return run();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
}

// Well-formed strings only: msgpack turns a lone surrogate into U+FFFD on the way, where the
// callers' own checks (`checkKey`, `checkMapName`) refuse it, as `checkOp` does.
const name = fc.oneof(fc.constant(''), fc.constant('\u0001or:m'), fc.string({ maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.string({ minLength: 250, maxLength: 260 }), fc.string({ minLength: 1020, maxLength: 1030 }));
const bytes = fc.uint8Array({ maxLength: VALUE_MAX + 4 });
const op: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), map: name, key: name, value: bytes }),
  fc.record({ op: fc.constantFrom('get' as const, 'getVersioned' as const, 'delete' as const, 'orGet' as const), map: name, key: name }),
  fc.record({ op: fc.constant('size' as const), map: name }),
  fc.record({ op: fc.constant('entries' as const), map: name, after: fc.option(name, { nil: null }) }),
  fc.record({ op: fc.constant('orAdd' as const), map: name, key: name, value: bytes }),
  fc.record({ op: fc.constant('orRemove' as const), map: name, key: name, value: fc.option(bytes, { nil: null }) }),
);

describe('map operations made on the owner itself', () => {
  it('are checked as the byte path decodes them: the same op, or the same refusal', () => {
    fc.assert(
      fc.property(op, (o) => {
        expect(outcome(() => checkOp(o, VALUE_MAX))).toEqual(outcome(() => decodeOp(encodeOp(o), VALUE_MAX)));
      }),
      { numRuns: 2_000, seed: 13 },
    );
  });

  it('refuse an ill-formed name, as the callers\' checks do', () => {
    expect(() => checkOp({ op: 'get', map: 'm', key: '\ud800' }, VALUE_MAX)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('copy the value, and tell writes from reads as the byte path does', () => {
    const value = new Uint8Array([1, 2, 3]);
    const checked = checkOp({ op: 'put', map: 'm', key: 'k', value }, VALUE_MAX) as { value: Uint8Array };
    value[0] = 9;
    expect(checked.value).toEqual(new Uint8Array([1, 2, 3]));
    fc.assert(
      fc.property(op, (o) => {
        expect(new KvCall(o).isWrite).toBe(isWriteOp(encodeOp(o)));
      }),
      { numRuns: 500, seed: 13 },
    );
  });
});
