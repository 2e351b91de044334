/**
 * The protocol layer's public face: every wire message type, the validating codec, the
 * size limits, gossip packing, forwarding and stream framing. Isomorphic (no `node:*`),
 * so the client shares it with the server.
 */
export type * from './messages.js';
export { PROTOCOL_VERSION } from './messages.js';
export { encode, decode, encodedSize, frameBytesMaxFor } from './codec.js';
export type { CodecOptions } from './codec.js';
export * from './limits.js';
export {
  WIRE_MAGIC,
  WIRE_HEADER_BYTES,
  MESSAGE_TYPE_CODES,
  DATAGRAM_MESSAGE_TYPES,
  messageTypeOfCode,
} from './type-codes.js';
export { encodedUpdateSize, fillUpdates, UpdateBudget } from './gossip-packing.js';
export type { UpdateCarrier } from './gossip-packing.js';
export { forwardOp, canForward, isOpForward } from './forward.js';
export type { ForwardContext } from './forward.js';
export { frame, FrameDecoder, FRAME_LENGTH_BYTES, type LeadingFrameLimit } from './framing.js';
export { NESTING_DEPTH_MAX } from './msgpack-scan.js';
