/**
 * The default codec: the protocol layer's validating `encode`/`decode` behind the
 * transport's `MessageCodec` interface, with the frame limit of the channel it serves
 * (the datagram budget for UDP, the frame limit for TCP).
 */
import { decode, encode, type CodecOptions } from '../protocol/index.js';
import type { MessageCodec } from './codec.js';

/** A `MessageCodec` over the protocol codec with the given limits. */
export function createProtocolCodec(options: CodecOptions = {}): MessageCodec {
  return {
    encode: (message) => encode(message, options),
    decode: (bytes) => decode(bytes, options),
  };
}

/** The protocol codec with its default limits. */
export const protocolCodec: MessageCodec = createProtocolCodec();
