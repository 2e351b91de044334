/**
 * The wire codec: `encode` checks a message and turns it into a frame, `decode` checks a
 * frame and rebuilds the message. A frame is the magic byte, the message type code, and
 * one msgpack array of the message's fields in a fixed order (see docs/protocol.md).
 * Decoding never trusts its input: every failure is a FlotillaError with a FLO_DECODE_*
 * code, and nothing half-checked is ever returned.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Message, MessageType } from './messages.js';
import { GOSSIP_MESSAGE_BYTES_MAX, TCP_FRAME_BYTES_MAX } from './limits.js';
import { packBody, unpackBody } from './msgpack.js';
import {
  codeOfMessageType,
  DATAGRAM_MESSAGE_TYPES,
  messageTypeOfCode,
  WIRE_HEADER_BYTES,
  WIRE_MAGIC,
} from './type-codes.js';
import { asCheckError, DECODE_CONTEXT, ENCODE_CONTEXT, type ReadContext } from './validate.js';
import type { MessageLayout, MessageLayoutTable } from './message-layout.js';
import {
  explicitSuspicionCodec,
  heartbeatCodec,
  heartbeatComplaintCodec,
  joinRequestCodec,
  joinResponseCodec,
  leaveRequestCodec,
  membersUpdateCodec,
  mergeRequestCodec,
  splitBrainProbeCodec,
  splitBrainProbeResponseCodec,
} from './wire-membership.js';
import {
  fetchPartitionTableCodec,
  mergedTableCodec,
  migrateCancelCodec,
  migrateQueryCodec,
  migrateStatusCodec,
  migrateDataCodec,
  migrateFinalizeCodec,
  migrateReadyCodec,
  migrateStartCodec,
  opForwardCodec,
  partitionTableUpdateCodec,
} from './wire-partitions.js';
import { serviceRequestCodec, serviceResponseCodec } from './wire-service.js';
import { wireSize } from './wire-size.js';
import {
  ackCodec,
  aliveCodec,
  deadCodec,
  gossipCodec,
  nackCodec,
  pingCodec,
  pingReqCodec,
  pushPullCodec,
  suspectCodec,
} from './wire-swim.js';

const codecs: MessageLayoutTable = {
  Ping: pingCodec,
  PingReq: pingReqCodec,
  Ack: ackCodec,
  Nack: nackCodec,
  Gossip: gossipCodec,
  PushPull: pushPullCodec,
  Suspect: suspectCodec,
  Alive: aliveCodec,
  Dead: deadCodec,
  JoinRequest: joinRequestCodec,
  JoinResponse: joinResponseCodec,
  MembersUpdate: membersUpdateCodec,
  LeaveRequest: leaveRequestCodec,
  Heartbeat: heartbeatCodec,
  HeartbeatComplaint: heartbeatComplaintCodec,
  ExplicitSuspicion: explicitSuspicionCodec,
  PartitionTableUpdate: partitionTableUpdateCodec,
  FetchPartitionTable: fetchPartitionTableCodec,
  MergedTable: mergedTableCodec,
  MigrateStart: migrateStartCodec,
  MigrateData: migrateDataCodec,
  MigrateReady: migrateReadyCodec,
  MigrateFinalize: migrateFinalizeCodec,
  MigrateCancel: migrateCancelCodec,
  MigrateQuery: migrateQueryCodec,
  MigrateStatus: migrateStatusCodec,
  SplitBrainProbe: splitBrainProbeCodec,
  SplitBrainProbeResponse: splitBrainProbeResponseCodec,
  MergeRequest: mergeRequestCodec,
  OpForward: opForwardCodec,
  ServiceRequest: serviceRequestCodec,
  ServiceResponse: serviceResponseCodec,
};

function codecOf(type: MessageType): MessageLayout<Message> {
  return codecs[type] as MessageLayout<Message>;
}

/** Check `fields` as a `type` message and rebuild it; failures name the field under the type. */
function fromWire(ctx: ReadContext, type: MessageType, fields: readonly unknown[]): Message {
  try {
    return codecOf(type).fromWire(ctx, fields);
  } catch (error) {
    throw asCheckError(ctx, type, error);
  }
}

/** Size limits of one encode or decode call. */
export interface CodecOptions {
  /**
   * Largest frame (magic, type code and body), in bytes. Default TCP_FRAME_BYTES_MAX
   * (16 MiB). The UDP driver passes its datagram budget (UDP_DATAGRAM_BUDGET_BYTES).
   */
  readonly frameBytesMax?: number;
  /**
   * Cap on the SWIM datagram types (Ping, PingReq, Ack, Nack, Gossip, Suspect, Alive,
   * Dead) whatever carries them, in bytes; the smaller of this and `frameBytesMax`
   * applies to them. Default GOSSIP_MESSAGE_BYTES_MAX (4 KiB).
   */
  readonly datagramBytesMax?: number;
}

function checkLimit(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < WIRE_HEADER_BYTES + 1) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `${name} must be an integer >= ${WIRE_HEADER_BYTES + 1}`, { [name]: value });
  }
  return value;
}

/** Both limits of a call, checked (FLO_INVALID_ARGUMENT for a bad option). */
interface Limits {
  readonly frameMax: number;
  readonly datagramMax: number;
}

function limitsOf(opts: CodecOptions | undefined): Limits {
  return {
    frameMax: checkLimit(opts?.frameBytesMax, 'frameBytesMax', TCP_FRAME_BYTES_MAX),
    datagramMax: checkLimit(opts?.datagramBytesMax, 'datagramBytesMax', GOSSIP_MESSAGE_BYTES_MAX),
  };
}

function limitFor(type: MessageType, limits: Limits): number {
  return DATAGRAM_MESSAGE_TYPES.has(type) ? Math.min(limits.frameMax, limits.datagramMax) : limits.frameMax;
}

/** The largest frame allowed for a message of `type` under `opts`, in bytes. */
export function frameBytesMaxFor(type: MessageType, opts?: CodecOptions): number {
  return limitFor(type, limitsOf(opts));
}

/** A message checked and laid out as its wire fields. */
interface CheckedMessage {
  readonly type: MessageType;
  readonly code: number;
  readonly fields: unknown[];
}

function toCheckedWire(message: Message): CheckedMessage {
  const type: unknown = typeof message === 'object' && message !== null ? message.type : undefined;
  const code = codeOfMessageType(type);
  if (code === undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', `not a message type: ${String(type).slice(0, 64)}`);
  const codec = codecOf(type as MessageType);
  let fields: unknown[];
  try {
    fields = codec.toWire(message);
  } catch (error) {
    if (isFlotillaError(error)) throw error;
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `${String(type)}: malformed message`);
  }
  // The decoder's own readers check the fields, so a frame we emit is one it accepts.
  fromWire(ENCODE_CONTEXT, type as MessageType, fields);
  return { type: type as MessageType, code, fields };
}

/** Exact length of the frame `encode(message)` returns. Throws like `encode` for an invalid message. */
export function encodedSize(message: Message): number {
  return WIRE_HEADER_BYTES + wireSize(toCheckedWire(message).fields);
}

/**
 * Encode one message as a frame. Throws FLO_INVALID_ARGUMENT when a field is invalid
 * (the path names it) and FLO_ENCODE_OVERSIZED when the frame would exceed its limit.
 */
export function encode(message: Message, opts?: CodecOptions): Uint8Array {
  const limits = limitsOf(opts);
  const { type, code, fields } = toCheckedWire(message);
  const limit = limitFor(type, limits);
  // Every byte field is bounded by validation, so packing before the size check is cheap
  // enough, and the packed length is the authority.
  const body = packBody(fields);
  const frame = new Uint8Array(WIRE_HEADER_BYTES + body.byteLength);
  frame[0] = WIRE_MAGIC;
  frame[1] = code;
  frame.set(body, WIRE_HEADER_BYTES);
  if (frame.byteLength > limit) throw oversized('FLO_ENCODE_OVERSIZED', type, frame.byteLength, limit);
  return frame;
}

function oversized(code: 'FLO_ENCODE_OVERSIZED' | 'FLO_DECODE_OVERSIZED', type: string, size: number, limit: number): FlotillaError {
  return new FlotillaError(code, `${type} frame of ${size} bytes exceeds ${limit}`, { type, size, limit });
}

/**
 * Decode one frame. Throws FlotillaError with FLO_DECODE_OVERSIZED (over the limit,
 * checked before parsing), FLO_DECODE_MALFORMED (not a Flotilla frame, not msgpack, or
 * not the message's structure), FLO_DECODE_TRUNCATED (ends early),
 * FLO_DECODE_UNKNOWN_TYPE or FLO_DECODE_INVALID (a field of the wrong type or range, or
 * bytes after the message); never anything else, whatever the bytes. (Invalid `opts`
 * are the caller's bug: FLO_INVALID_ARGUMENT.)
 */
export function decode(bytes: Uint8Array, opts?: CodecOptions): Message {
  const limits = limitsOf(opts);
  try {
    if (!(bytes instanceof Uint8Array)) throw new FlotillaError('FLO_DECODE_MALFORMED', 'input is not bytes');
    if (bytes.byteLength > limits.frameMax) throw oversized('FLO_DECODE_OVERSIZED', 'frame', bytes.byteLength, limits.frameMax);
    if (bytes.byteLength === 0) throw new FlotillaError('FLO_DECODE_TRUNCATED', 'empty frame');
    if (bytes[0] !== WIRE_MAGIC) {
      throw new FlotillaError('FLO_DECODE_MALFORMED', `not a Flotilla frame (first byte 0x${bytes[0]!.toString(16)})`);
    }
    if (bytes.byteLength < WIRE_HEADER_BYTES) throw new FlotillaError('FLO_DECODE_TRUNCATED', 'frame ends after the magic byte');
    const type = messageTypeOfCode(bytes[1]!);
    if (type === undefined) {
      throw new FlotillaError('FLO_DECODE_UNKNOWN_TYPE', `type code ${bytes[1]!}`, { code: bytes[1]! });
    }
    const limit = limitFor(type, limits);
    if (bytes.byteLength > limit) throw oversized('FLO_DECODE_OVERSIZED', type, bytes.byteLength, limit);
    const body = unpackBody(bytes.subarray(WIRE_HEADER_BYTES));
    const codec = codecOf(type);
    if (!Array.isArray(body) || body.length !== codec.arity) {
      throw new FlotillaError('FLO_DECODE_MALFORMED', `${type} body is not an array of ${codec.arity} fields`);
    }
    return fromWire(DECODE_CONTEXT, type, body as readonly unknown[]);
  } catch (error) {
    if (isFlotillaError(error)) throw error;
    throw new FlotillaError('FLO_DECODE_MALFORMED', 'unreadable frame');
  }
}
