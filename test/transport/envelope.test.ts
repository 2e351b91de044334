import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import {
  decodeChallenge,
  decodeEnvelope,
  decodeErrorPayload,
  decodeHello,
  encodeChallenge,
  encodeErrorPayload,
  encodeFrame,
  encodeHello,
  frameWireBytes,
  FrameKind,
  HELLO_VERSION,
} from '../../src/transport/envelope.js';
import { FRAME_LENGTH_BYTES as FRAME_HEADER_BYTES, FrameDecoder } from '../../src/protocol/index.js';
import { isFlotillaError, type ErrorCode } from '../../src/core/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'not-flotilla';
  }
  return undefined;
}

describe('envelope', () => {
  const kinds: [string, FrameKind, number][] = [
    ['hello', FrameKind.Hello, 0],
    ['message', FrameKind.Message, 0],
    ['request', FrameKind.Request, 7],
    ['response', FrameKind.Response, 0xffff_ffff],
    ['error', FrameKind.Error, 1],
    ['challenge', FrameKind.Challenge, 0],
    ['proof', FrameKind.Proof, 0],
  ];
  it.each(kinds)('round-trips a %s frame', (_name, kind, correlationId) => {
    const payload = Uint8Array.from([1, 2, 3]);
    const wire = encodeFrame(kind, correlationId, payload);
    expect(wire.length).toBe(frameWireBytes(kind, payload.length));
    expect(wire.readUInt32BE(0)).toBe(wire.length - FRAME_HEADER_BYTES);
    const envelope = decodeEnvelope(wire.subarray(FRAME_HEADER_BYTES));
    expect(envelope.kind).toBe(kind);
    expect(envelope.correlationId).toBe(correlationId);
    expect(Array.from(envelope.payload)).toEqual([1, 2, 3]);
  });

  const badBodies: [string, number[], ErrorCode][] = [
    ['empty', [], 'FLO_DECODE_MALFORMED'],
    ['unknown kind', [9, 1, 2], 'FLO_DECODE_MALFORMED'],
    ['request without id', [FrameKind.Request, 0, 1], 'FLO_DECODE_TRUNCATED'],
  ];
  it.each(badBodies)('refuses a body that is %s', (_name, bytes, code) => {
    expect(codeOf(() => decodeEnvelope(Uint8Array.from(bytes)))).toBe(code);
  });

  it('round-trips a hello and validates it', () => {
    expect(decodeHello(encodeHello({ address: '127.0.0.1:5000', nodeId: 'n1' }))).toEqual({ address: '127.0.0.1:5000', nodeId: 'n1' });
    expect(decodeHello(encodeHello({ address: '[::1]:5000', nodeId: undefined }))).toEqual({ address: '[::1]:5000', nodeId: undefined });
    expect(codeOf(() => decodeHello(pack({ v: HELLO_VERSION + 1, address: '127.0.0.1:1' })))).toBe('FLO_PROTOCOL_VERSION');
    expect(codeOf(() => decodeHello(pack({ v: 1, address: '127.0.0.1:1' })))).toBe('FLO_PROTOCOL_VERSION');
    expect(codeOf(() => decodeHello(pack({ v: HELLO_VERSION, address: 'nope' })))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(pack({ v: HELLO_VERSION, address: '127.0.0.1:1', nodeId: 5 })))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(pack({ v: HELLO_VERSION, address: '127.0.0.1:1', nonce: new Uint8Array(15) })))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(pack({ v: HELLO_VERSION, address: '127.0.0.1:1', nonce: 'x'.repeat(16) })))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(pack([1, 2])))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(Uint8Array.from([0xc1])))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeHello(Uint8Array.from([0x82])))).toBe('FLO_DECODE_MALFORMED');
  });

  it('round-trips a hello with its auth nonce, and a challenge that is a nonce and nothing else', () => {
    const nonce = Uint8Array.from({ length: 16 }, (_, i) => i);
    const hello = decodeHello(encodeHello({ address: '127.0.0.1:5000', nodeId: 'n1', nonce }));
    expect(Array.from(hello.nonce ?? [])).toEqual(Array.from(nonce));
    const encoded = encodeChallenge({ nonce });
    expect(encoded).toHaveLength(16);
    expect(Array.from(decodeChallenge(encoded).nonce)).toEqual(Array.from(nonce));
    expect(codeOf(() => decodeChallenge(new Uint8Array(15)))).toBe('FLO_DECODE_INVALID');
    expect(codeOf(() => decodeChallenge(new Uint8Array(48)))).toBe('FLO_DECODE_INVALID');
  });

  it('carries a catalogued error code back, and maps unknown ones to FLO_INTERNAL', () => {
    const known = decodeErrorPayload(encodeErrorPayload('FLO_NOT_OWNER', 'partition 3'));
    expect(known.code).toBe('FLO_NOT_OWNER');
    expect(known.message).toContain('partition 3');
    const unknown = decodeErrorPayload(pack({ code: 'NOPE', message: 'x' }));
    expect(unknown.code).toBe('FLO_INTERNAL');
  });
});

describe('envelope over the protocol framing', () => {
  it('frames split back by the protocol FrameDecoder', () => {
    const frames = [encodeFrame(FrameKind.Message, 0, Uint8Array.from([9])), encodeFrame(FrameKind.Request, 3, new Uint8Array(1000))];
    const decoder = new FrameDecoder(1005);
    const bodies = decoder.push(Buffer.concat(frames));
    expect(bodies.map((b) => decodeEnvelope(b).kind)).toEqual([FrameKind.Message, FrameKind.Request]);
    expect(decodeEnvelope(bodies[1]!).payload.length).toBe(1000);
  });
});
