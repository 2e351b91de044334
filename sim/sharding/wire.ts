/**
 * What travels on the simulated network between sharded nodes: protocol messages as
 * they are, and requests and responses wrapped with a correlation id, as the TCP
 * transport's envelope wraps them (`src/transport/envelope.ts`) and for the same reason:
 * the protocol's message types say nothing about which reply answers which request.
 */
import { decode, encode, encodedSize } from '../../src/protocol/codec.js';
import type { ErrorCode } from '../../src/core/errors.js';
import type { Message } from '../../src/protocol/messages.js';
import type { SimCodec } from '../network.js';

/** A request: `message` expects a `SimResponse` with the same `id`. */
export interface SimRequest {
  readonly type: 'SimRequest';
  readonly id: number;
  readonly message: Message;
}

/** The answer to request `id`: a message, or the responder's catalogued error. */
export interface SimResponse {
  readonly type: 'SimResponse';
  readonly id: number;
  readonly message?: Message;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** Anything one sharded node sends another. */
export type SimWire = Message | SimRequest | SimResponse;

/** The transport's envelope header (kind byte and correlation id), which wraps a request or response. */
const ENVELOPE_BYTES = 5;

/** Bytes of an error reply (code and reason), roughly as the transport encodes it. */
const ERROR_REPLY_BYTES = 64;

/** Size on the wire: the protocol codec's exact size, plus the envelope for requests and responses. */
export function wireSize(wire: SimWire): number {
  if (wire.type === 'SimRequest') return ENVELOPE_BYTES + encodedSize(wire.message);
  if (wire.type === 'SimResponse') return ENVELOPE_BYTES + (wire.message === undefined ? ERROR_REPLY_BYTES : encodedSize(wire.message));
  return encodedSize(wire);
}

/**
 * Encodes every message with the real protocol codec (the envelope fields as a small
 * prefix), so runs with `deliverDecodedCopy` exercise the codec end to end.
 */
export const wireCodec: SimCodec<SimWire> = {
  encode(wire: SimWire): Uint8Array {
    if (wire.type === 'SimRequest') return frame(1, wire.id, encode(wire.message));
    if (wire.type === 'SimResponse') {
      if (wire.message !== undefined) return frame(2, wire.id, encode(wire.message));
      return frame(3, wire.id, new TextEncoder().encode(JSON.stringify(wire.error)));
    }
    return frame(0, 0, encode(wire));
  },
  decode(bytes: Uint8Array): SimWire {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = view.getUint8(0);
    const id = view.getUint32(1);
    const body = bytes.subarray(ENVELOPE_BYTES);
    if (kind === 1) return { type: 'SimRequest', id, message: decode(body) };
    if (kind === 2) return { type: 'SimResponse', id, message: decode(body) };
    if (kind === 3) return { type: 'SimResponse', id, error: JSON.parse(new TextDecoder().decode(body)) as SimResponse['error'] };
    return decode(body);
  },
};

function frame(kind: number, id: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_BYTES + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, id);
  out.set(body, ENVELOPE_BYTES);
  return out;
}
