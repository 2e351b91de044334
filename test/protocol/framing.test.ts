import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, FrameDecoder, FRAME_LENGTH_BYTES } from '../../src/protocol/framing.js';
import { concat, expectCode } from './helpers.js';

describe('frame', () => {
  it('prefixes the big-endian payload length', () => {
    expect([...frame(new Uint8Array([7, 8]))]).toEqual([0, 0, 0, 2, 7, 8]);
    expect([...frame(new Uint8Array(0))]).toEqual([0, 0, 0, 0]);
    expect([...frame(new Uint8Array(0x1_02_03)).subarray(0, 4)]).toEqual([0, 1, 2, 3]);
  });

  it('refuses a payload over the limit', () => {
    expectCode(() => frame(new Uint8Array(11), 10), 'FLO_ENCODE_OVERSIZED');
    expectCode(() => frame(new Uint8Array(1), -1), 'FLO_INVALID_ARGUMENT');
  });
});

describe('FrameDecoder', () => {
  it('yields the same payloads whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 30 }),
        (payloads, cuts) => {
          const stream = concat(...payloads.map((p) => frame(p)));
          const decoder = new FrameDecoder(1000);
          const out: Uint8Array[] = [];
          let at = 0;
          for (const cut of cuts) {
            const next = Math.min(stream.length, at + cut);
            out.push(...decoder.push(stream.subarray(at, next)));
            at = next;
          }
          out.push(...decoder.push(stream.subarray(at)));
          expect(out.map((p) => [...p])).toEqual(payloads.map((p) => [...p]));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('never aliases the chunks it was given', () => {
    const decoder = new FrameDecoder();
    const chunk = frame(new Uint8Array([1, 2, 3]));
    const split = decoder.push(chunk.subarray(0, 5));
    expect(split).toEqual([]);
    chunk.fill(0, 0, 5);
    const [payload] = decoder.push(new Uint8Array([2, 3]));
    expect([...payload!]).toEqual([1, 2, 3]);
    const whole = frame(new Uint8Array([4, 5]));
    const [copy] = decoder.push(whole);
    whole.fill(0);
    expect([...copy!]).toEqual([4, 5]);
  });

  it('rejects an oversized length from the header alone, then stays failed until reset', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(new Uint8Array([0, 0]))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(2);
    expectCode(() => decoder.push(new Uint8Array([0, 17])), 'FLO_DECODE_OVERSIZED');
    expectCode(() => decoder.push(frame(new Uint8Array(1))), 'FLO_DECODE_OVERSIZED');
    decoder.reset();
    expect(decoder.push(frame(new Uint8Array([1])))).toEqual([new Uint8Array([1])]);
  });

  it('holds the leading frames to their tighter limit, then allows the full one, even within one chunk', () => {
    const leading = { leadingFrames: 2, leadingFrameBytesMax: 4 };
    const decoder = new FrameDecoder(64, leading);
    const big = new Uint8Array(40).fill(7);
    expect(decoder.push(new Uint8Array([...frame(new Uint8Array(4)), ...frame(new Uint8Array(3)), ...frame(big)]))).toEqual([new Uint8Array(4), new Uint8Array(3), big]);
    expectCode(() => new FrameDecoder(64, leading).push(frame(new Uint8Array(5))), 'FLO_DECODE_OVERSIZED');
    const second = new FrameDecoder(64, leading);
    expect(second.push(frame(new Uint8Array(1)))).toHaveLength(1);
    expectCode(() => second.push(new Uint8Array([0, 0, 0, 5])), 'FLO_DECODE_OVERSIZED');
    expectCode(() => new FrameDecoder(64, { leadingFrames: -1, leadingFrameBytesMax: 4 }), 'FLO_INVALID_ARGUMENT');
  });

  it('buffers only what arrived, not what a header announces', () => {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array([0, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(decoder.bufferedBytes).toBe(FRAME_LENGTH_BYTES + 3);
  });

  it('passes zero-length frames through as empty payloads', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 9]))).toEqual([new Uint8Array(0), new Uint8Array([9])]);
  });
});
