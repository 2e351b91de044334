/**
 * The message codec the transport is given (bytes <-> protocol messages), injected so the
 * transport can be tested and benchmarked on its own, and its default: the protocol
 * layer's validating `encode`/`decode` with the frame limit of the channel it serves (the
 * datagram budget for UDP, the frame limit for TCP).
 *
 * A frozen message is taken to be immutable throughout (the master freezes the table
 * updates it publishes, whose table is frozen to the leaves), so its bytes are kept per
 * message object for as long as the object lives: a publish sends one update object to
 * every member, and at 1000 members and 2048 partitions encoding it once per member cost
 * hundreds of milliseconds per table version. Unfrozen messages are encoded every time.
 */
import { decode, encode, type CodecOptions } from '../protocol/index.js';
import type { Message } from '../protocol/messages.js';

/** Turns messages into bytes and back. `decode` throws a FlotillaError (FLO_DECODE_*). */
export interface MessageCodec {
  encode(message: Message): Uint8Array;
  decode(bytes: Uint8Array): Message;
}

/** A `MessageCodec` over the protocol codec with the given limits. */
export function createProtocolCodec(options: CodecOptions = {}): MessageCodec {
  const encodedFrozen = new WeakMap<Message, Uint8Array>();
  return {
    encode: (message) => {
      if (!Object.isFrozen(message)) return encode(message, options);
      let bytes = encodedFrozen.get(message);
      if (bytes === undefined) {
        bytes = encode(message, options);
        encodedFrozen.set(message, bytes);
      }
      return bytes;
    },
    decode: (bytes) => decode(bytes, options),
  };
}

/** The protocol codec with its default limits. */
export const protocolCodec: MessageCodec = createProtocolCodec();
