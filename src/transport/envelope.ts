/**
 * The transport's own header inside each TCP frame body: one kind byte, a correlation id
 * for requests and responses, then the payload (a protocol-encoded message; for the
 * Hello and Error kinds a small msgpack map; for Challenge a fixed-length nonce, for Proof
 * and Confirm fixed-length proof bytes). It keeps connection bookkeeping (who is the peer,
 * which reply answers which request) out of the protocol's message types.
 */
import { pack, unpack } from 'msgpackr';
import type { Address, NodeId } from '../core/model.js';
import { FlotillaError, ErrorCatalog, type ErrorCode } from '../core/errors.js';
import { parseAddress } from './address.js';
import { FRAME_LENGTH_BYTES } from '../protocol/index.js';
import { AUTH_NONCE_BYTES } from './frame-auth.js';

/** What a frame carries. */
export const FrameKind = {
  /** First frame on a connection: the dialer's advertised cluster address and auth nonce. */
  Hello: 0,
  /** A one-way message. */
  Message: 1,
  /** A message that expects a Response or Error with the same correlation id. */
  Request: 2,
  Response: 3,
  /** The responder failed: a catalogued code and a reason instead of a message. */
  Error: 4,
  /** Listener's answer to an authenticated Hello: its nonce, and nothing derived from the key. */
  Challenge: 5,
  /** Dialer's proof of the key over both nonces. */
  Proof: 6,
  /** Listener's proof of the key, sent only after the dialer's Proof checked out; the last handshake frame. */
  Confirm: 7,
} as const;

/** One of the `FrameKind` values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/**
 * Version of the handshake; a peer with another one is refused. 2: authenticated, the
 * listener proving first; 3: the dialer proves first (the listener's Confirm follows).
 */
export const HELLO_VERSION = 3;

/** Largest envelope header: kind byte plus a 32-bit correlation id. */
export const ENVELOPE_HEADER_BYTES_MAX = 5;

/** Longest node id or error text carried in a handshake or error frame. */
export const ENVELOPE_TEXT_CHARS_MAX = 1024;

/**
 * Largest frame body (envelope header included) read before a connection is
 * authenticated. A Hello (address, node id of at most 1,024 characters, nonce) or an
 * Error frame (code, text of at most 1,024 characters) fits; anything announcing more is
 * refused on its length prefix, before a byte of it is buffered, so an unauthenticated
 * peer can make a node hold at most this much per connection.
 */
export const HANDSHAKE_FRAME_BYTES_MAX = 4 * 1024;

/** A decoded frame body. `payload` is a view into the body, not a copy. */
export interface Envelope {
  readonly kind: FrameKind;
  /** Zero for kinds without one. */
  readonly correlationId: number;
  readonly payload: Uint8Array;
}

/** The handshake: who is dialing, so replies go to its listener, not its ephemeral port. */
export interface Hello {
  readonly address: Address;
  readonly nodeId: NodeId | undefined;
  /** The dialer's random challenge (`AUTH_NONCE_BYTES`); absent when it does not authenticate. */
  readonly nonce?: Uint8Array | undefined;
}

/** The listener's Challenge frame: its own nonce. */
export interface Challenge {
  readonly nonce: Uint8Array;
}

/** A failed request as carried back to the requester. */
export interface ErrorPayload {
  readonly code: ErrorCode;
  readonly message: string;
}

function hasCorrelation(kind: FrameKind): boolean {
  return kind === FrameKind.Request || kind === FrameKind.Response || kind === FrameKind.Error;
}

/** Bytes on the wire (length prefix and envelope header included) for a payload. */
export function frameWireBytes(kind: FrameKind, payloadBytes: number): number {
  return FRAME_LENGTH_BYTES + (hasCorrelation(kind) ? 5 : 1) + payloadBytes;
}

/**
 * Build one complete wire frame: the protocol's length prefix (4 bytes, big-endian, as
 * `frame()` writes it), the envelope header, the payload, in one allocation and one copy.
 */
export function encodeFrame(kind: FrameKind, correlationId: number, payload: Uint8Array): Buffer {
  const headerBytes = hasCorrelation(kind) ? 5 : 1;
  const out = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + headerBytes + payload.length);
  out.writeUInt32BE(headerBytes + payload.length, 0);
  out[FRAME_LENGTH_BYTES] = kind;
  if (headerBytes === 5) out.writeUInt32BE(correlationId >>> 0, FRAME_LENGTH_BYTES + 1);
  out.set(payload, FRAME_LENGTH_BYTES + headerBytes);
  return out;
}

/** Split a frame body into its envelope; throws FLO_DECODE_MALFORMED when it is not one. */
export function decodeEnvelope(body: Uint8Array): Envelope {
  const kind = body[0];
  if (kind === undefined || kind > FrameKind.Confirm) {
    throw new FlotillaError('FLO_DECODE_MALFORMED', 'unknown frame kind', { kind });
  }
  const typed = kind as FrameKind;
  if (!hasCorrelation(typed)) return { kind: typed, correlationId: 0, payload: body.subarray(1) };
  if (body.length < 5) throw new FlotillaError('FLO_DECODE_TRUNCATED', 'frame too short for its correlation id');
  const correlationId = ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0;
  return { kind: typed, correlationId, payload: body.subarray(5) };
}

/** Encode the handshake payload. */
export function encodeHello(hello: Hello): Uint8Array {
  const map: Record<string, unknown> = { v: HELLO_VERSION, address: hello.address };
  if (hello.nodeId !== undefined) map['nodeId'] = hello.nodeId;
  if (hello.nonce !== undefined) map['nonce'] = hello.nonce;
  return pack(map);
}

/** Encode a Challenge payload: the nonce, of fixed length. */
export function encodeChallenge(challenge: Challenge): Uint8Array {
  return Uint8Array.from(challenge.nonce);
}

/** Read a Challenge payload; throws FLO_DECODE_INVALID when it has the wrong length. */
export function decodeChallenge(payload: Uint8Array): Challenge {
  if (payload.length !== AUTH_NONCE_BYTES) {
    throw new FlotillaError('FLO_DECODE_INVALID', `challenge of ${payload.length} bytes, expected ${AUTH_NONCE_BYTES}`);
  }
  return { nonce: payload };
}

function unpackMap(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = unpack(payload);
  } catch (err) {
    throw new FlotillaError('FLO_DECODE_MALFORMED', `${what} is not msgpack`, { cause: String(err) });
  }
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new FlotillaError('FLO_DECODE_INVALID', `${what} is not a map`);
  }
  return value as Record<string, unknown>;
}

function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > ENVELOPE_TEXT_CHARS_MAX) {
    throw new FlotillaError('FLO_DECODE_INVALID', `${field} must be a short string`);
  }
  return value;
}

/** Decode and validate a handshake payload. */
export function decodeHello(payload: Uint8Array): Hello {
  const map = unpackMap(payload, 'handshake');
  if (map['v'] !== HELLO_VERSION) {
    throw new FlotillaError('FLO_PROTOCOL_VERSION', 'unsupported handshake version', { version: map['v'] });
  }
  const address = map['address'];
  if (typeof address !== 'string') throw new FlotillaError('FLO_DECODE_INVALID', 'handshake address missing');
  try {
    parseAddress(address);
  } catch {
    throw new FlotillaError('FLO_DECODE_INVALID', 'handshake address is not host:port');
  }
  const nonce = map['nonce'];
  if (nonce !== undefined && (!(nonce instanceof Uint8Array) || nonce.length !== AUTH_NONCE_BYTES)) {
    throw new FlotillaError('FLO_DECODE_INVALID', `handshake nonce must be ${AUTH_NONCE_BYTES} bytes`);
  }
  const hello = { address, nodeId: optionalText(map['nodeId'], 'nodeId') };
  return nonce === undefined ? hello : { ...hello, nonce };
}

/** Encode a failed request's code and reason. */
export function encodeErrorPayload(code: ErrorCode, message: string): Uint8Array {
  return pack({ code, message: message.slice(0, ENVELOPE_TEXT_CHARS_MAX) });
}

/** Decode an error payload into the FlotillaError the requester sees. */
export function decodeErrorPayload(payload: Uint8Array): FlotillaError {
  const map = unpackMap(payload, 'error frame');
  const code = map['code'];
  const message = optionalText(map['message'], 'message') ?? '';
  const known = typeof code === 'string' && Object.hasOwn(ErrorCatalog, code);
  return new FlotillaError(known ? (code as ErrorCode) : 'FLO_INTERNAL', `remote: ${message}`, { remoteCode: code });
}
