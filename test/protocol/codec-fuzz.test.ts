import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import type { Message, MessageType } from '../../src/protocol/messages.js';
import { decode, encode, encodedSize, type CodecOptions } from '../../src/protocol/codec.js';
import { TCP_FRAME_BYTES_MAX } from '../../src/protocol/limits.js';
import { MESSAGE_TYPE_CODES, WIRE_MAGIC } from '../../src/protocol/type-codes.js';
import { anyMessage, messageArbitraries } from './arbitraries.js';
import { comparable, concat, DECODE_CODES } from './helpers.js';
import { allSamples } from './samples.js';

/** Let datagram types grow past the gossip cap, so any generated message encodes. */
const roomy: CodecOptions = { datagramBytesMax: TCP_FRAME_BYTES_MAX };

const codes = Object.values(MESSAGE_TYPE_CODES);

/**
 * The decoder's contract on any input: either a message that re-encodes (to a frame that
 * decodes to the same message), or a FlotillaError with a decode code. Nothing else.
 */
function checkDecodeContract(bytes: Uint8Array): 'ok' | string {
  let message: Message;
  try {
    message = decode(bytes, roomy);
  } catch (error) {
    if (!isFlotillaError(error) || !DECODE_CODES.includes(error.code)) throw error;
    return error.code;
  }
  const again = encode(message, roomy);
  expect(comparable(decode(again, roomy))).toEqual(comparable(message));
  return 'ok';
}

describe('round trip of generated messages', () => {
  it.each(Object.keys(messageArbitraries) as MessageType[])('%s', (type) => {
    const arb = messageArbitraries[type] as fc.Arbitrary<Message>;
    fc.assert(
      fc.property(arb, (message) => {
        const bytes = encode(message, roomy);
        expect(bytes.byteLength).toBe(encodedSize(message));
        expect(comparable(decode(bytes, roomy))).toEqual(comparable(message));
      }),
      { seed: 42, numRuns: 150 },
    );
  });
});

describe('decode of hostile input', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        checkDecodeContract(bytes);
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('random bodies behind a valid header', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(fc.constantFrom(...codes), fc.uint8Array({ maxLength: 200 }), (code, body) => {
        outcomes.add(checkDecodeContract(concat(new Uint8Array([WIRE_MAGIC, code]), body)));
      }),
      { seed: 42, numRuns: 3000 },
    );
    expect(outcomes).toContain('FLO_DECODE_MALFORMED');
    expect(outcomes).toContain('FLO_DECODE_TRUNCATED');
  });

  it('valid frames with flipped bits', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(anyMessage, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }), (message, flips) => {
        const bytes = encode(message, roomy);
        for (const [at, bit] of flips) bytes[at % bytes.length]! ^= 1 << bit;
        outcomes.add(checkDecodeContract(bytes));
      }),
      { seed: 42, numRuns: 2000 },
    );
    expect(outcomes).toContain('ok');
    expect(outcomes).toContain('FLO_DECODE_INVALID');
  });

  it('valid frames with random bytes overwritten', () => {
    fc.assert(
      fc.property(anyMessage, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (message, at, junk) => {
        const bytes = encode(message, roomy);
        bytes.set(junk.subarray(0, Math.max(0, bytes.length - (at % bytes.length))), at % bytes.length);
        checkDecodeContract(bytes);
      }),
      { seed: 7, numRuns: 1500 },
    );
  });

  it('every proper prefix of a valid frame is TRUNCATED', () => {
    for (const message of allSamples) {
      const bytes = encode(message);
      const step = bytes.length > 2000 ? 997 : 1;
      for (let n = 1; n < bytes.length; n += step) {
        expect(checkDecodeContract(bytes.subarray(0, n)), `${message.type} cut at ${n}/${bytes.length}`).toBe('FLO_DECODE_TRUNCATED');
      }
    }
    fc.assert(
      fc.property(anyMessage, fc.nat(), (message, cut) => {
        const bytes = encode(message, roomy);
        const n = 1 + (cut % (bytes.length - 1));
        expect(checkDecodeContract(bytes.subarray(0, n))).toBe('FLO_DECODE_TRUNCATED');
      }),
      { seed: 42, numRuns: 1000 },
    );
    expect(checkDecodeContract(new Uint8Array(0))).toBe('FLO_DECODE_TRUNCATED');
  });

  it('bytes appended to a valid frame are INVALID', () => {
    fc.assert(
      fc.property(anyMessage, fc.uint8Array({ minLength: 1, maxLength: 16 }), (message, extra) => {
        expect(checkDecodeContract(concat(encode(message, roomy), extra))).toBe('FLO_DECODE_INVALID');
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('anything over the limit is OVERSIZED, whatever it holds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 65, maxLength: 300 }), (bytes) => {
        expect(() => decode(bytes, { frameBytesMax: 64 })).toThrow(expect.objectContaining({ code: 'FLO_DECODE_OVERSIZED' }));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
