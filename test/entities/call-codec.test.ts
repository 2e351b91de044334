import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import type { EntityCall } from '../../src/entities/call.js';
import { decodeCall, decodeOutcome, encodeCall, encodeOutcome } from '../../src/entities/call-codec.js';
import { encodeValue } from '../../src/entities/state-codec.js';

describe('entity wire codec', () => {
  it('round-trips calls', () => {
    const arbCall = fc.record({
      type: fc.string({ minLength: 1 }),
      id: fc.string({ minLength: 1 }),
      handler: fc.string({ minLength: 1 }),
      args: fc.array(fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.dictionary(fc.string(), fc.integer()))),
      meta: fc.dictionary(fc.string(), fc.integer()),
      chain: fc.array(fc.string()),
      callId: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(arbCall, (raw) => {
        const call: EntityCall = raw.callId === undefined ? { ...raw, callId: undefined } : raw;
        const decoded = decodeCall(encodeCall(call));
        expect(decoded).toEqual(raw.callId === undefined ? (({ callId: _c, ...rest }) => rest)(raw) : raw);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('round-trips outcomes: results, and errors with their code, detail and details', () => {
    expect(decodeOutcome(encodeOutcome({ ok: true, result: { a: [1, 'x'] } }))).toEqual({ a: [1, 'x'] });
    const error = new FlotillaError('FLO_HANDLER_FAILED', 'boom', { name: 'TypeError' });
    let thrown: unknown;
    try {
      decodeOutcome(encodeOutcome({ ok: false, error }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(FlotillaError);
    expect((thrown as FlotillaError).code).toBe('FLO_HANDLER_FAILED');
    expect((thrown as FlotillaError).message).toBe('Entity handler failed: boom');
    expect((thrown as FlotillaError).details).toEqual({ name: 'TypeError' });
  });

  it.each([
    ['not an array', encodeValue({ a: 1 })],
    ['wrong arity', encodeValue(['T', 'i', 'h'])],
    ['non-string type', encodeValue([1, 'i', 'h', [], {}, [], null])],
    ['args not an array', encodeValue(['T', 'i', 'h', 5, {}, [], null])],
    ['chain of numbers', encodeValue(['T', 'i', 'h', [], {}, [1], null])],
  ])('refuses a malformed call: %s', (_what, bytes) => {
    expect(() => decodeCall(bytes)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('maps an unknown remote code to FLO_INTERNAL, keeping the code in details', () => {
    expect(() => decodeOutcome(encodeValue([0, 'FLO_FROM_THE_FUTURE', 'x', null]))).toThrow(expect.objectContaining({ code: 'FLO_INTERNAL', details: { remoteCode: 'FLO_FROM_THE_FUTURE' } }));
  });
});
