/**
 * The message codec the transport is given: bytes <-> protocol messages. Injected so the
 * transport can be tested and benchmarked on its own; the default is the protocol layer's
 * validating msgpack codec.
 */
import type { Message } from '../protocol/messages.js';

/** Turns messages into bytes and back. `decode` throws a FlotillaError (FLO_DECODE_*). */
export interface MessageCodec {
  encode(message: Message): Uint8Array;
  decode(bytes: Uint8Array): Message;
}
