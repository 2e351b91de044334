/**
 * Length-prefixed framing for byte streams (TCP, or anything ordered and reliable): each
 * frame is a 4-byte big-endian payload length, then the payload. Pure Uint8Array code, so
 * browsers and Node share it. The incremental decoder checks each announced length
 * before buffering a byte of its payload and only ever holds the one frame in progress.
 */
import { FlotillaError } from '../core/errors.js';
import { TCP_FRAME_BYTES_MAX } from './limits.js';

/** Bytes of the length prefix. */
export const FRAME_LENGTH_BYTES = 4;

/** Largest payload the 4-byte prefix can announce. */
const LENGTH_PREFIX_MAX = 0xffff_ffff;

function checkFrameMax(frameBytesMax: number): number {
  if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 0 || frameBytesMax > LENGTH_PREFIX_MAX) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'frameBytesMax must be an integer in 0..2^32-1', { frameBytesMax });
  }
  return frameBytesMax;
}

/**
 * `payload` with its length prefix. Throws FLO_ENCODE_OVERSIZED when it is longer than
 * `frameBytesMax` (default TCP_FRAME_BYTES_MAX).
 */
export function frame(payload: Uint8Array, frameBytesMax: number = TCP_FRAME_BYTES_MAX): Uint8Array {
  const limit = checkFrameMax(frameBytesMax);
  if (payload.byteLength > limit) {
    throw new FlotillaError('FLO_ENCODE_OVERSIZED', `frame payload of ${payload.byteLength} bytes exceeds ${limit}`, {
      size: payload.byteLength,
      limit,
    });
  }
  const out = new Uint8Array(FRAME_LENGTH_BYTES + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength);
  out.set(payload, FRAME_LENGTH_BYTES);
  return out;
}

/** First allocation for a payload; it doubles up to the announced length as bytes arrive. */
const PAYLOAD_INITIAL_BYTES = 64 * 1024;

/**
 * A tighter limit for the first frames of a stream, e.g. a handshake read before the peer
 * is trusted: `leadingFrames` frames of at most `leadingFrameBytesMax` bytes each.
 */
export interface LeadingFrameLimit {
  readonly leadingFrames: number;
  readonly leadingFrameBytesMax: number;
}

/**
 * Splits a byte stream back into frame payloads; one per connection. Each completed
 * payload is a fresh copy (it never aliases a pushed chunk). Zero-length frames come out
 * as empty payloads. After an oversized length the stream cannot be resynchronised: every
 * later `push` throws until `reset`, and the caller should close the connection.
 */
export class FrameDecoder {
  private readonly frameBytesMax: number;
  private readonly leading: LeadingFrameLimit | undefined;
  /** Frames whose length prefix has been read so far. */
  private framesStarted = 0;
  private readonly header = new Uint8Array(FRAME_LENGTH_BYTES);
  private headerFilled = 0;
  /** Announced payload length of the frame in progress, or -1 while reading a header. */
  private expected = -1;
  /**
   * Payload in progress. It grows with the bytes received rather than being allocated at
   * the announced length, so a header alone cannot make us reserve a maximum frame.
   */
  private payload = new Uint8Array(0);
  private filled = 0;
  private failed = false;

  /**
   * @param frameBytesMax largest payload accepted, in bytes (default TCP_FRAME_BYTES_MAX)
   * @param leading a tighter limit for the first frames (default none)
   */
  constructor(frameBytesMax: number = TCP_FRAME_BYTES_MAX, leading?: LeadingFrameLimit) {
    this.frameBytesMax = checkFrameMax(frameBytesMax);
    if (leading !== undefined) {
      if (!Number.isSafeInteger(leading.leadingFrames) || leading.leadingFrames < 0) {
        throw new FlotillaError('FLO_INVALID_ARGUMENT', 'leadingFrames must be a non-negative integer', { leadingFrames: leading.leadingFrames });
      }
      checkFrameMax(leading.leadingFrameBytesMax);
    }
    this.leading = leading;
  }

  /** The limit of the frame whose length prefix is being read. */
  private get currentFrameBytesMax(): number {
    const leading = this.leading;
    return leading !== undefined && this.framesStarted < leading.leadingFrames ? Math.min(leading.leadingFrameBytesMax, this.frameBytesMax) : this.frameBytesMax;
  }

  /** Bytes received for the frame in progress (header included); at most 4 + frameBytesMax. */
  get bufferedBytes(): number {
    return this.expected < 0 ? this.headerFilled : FRAME_LENGTH_BYTES + this.filled;
  }

  /**
   * Feed the next chunk of the stream; returns the payloads it completes, in order.
   * Throws FLO_DECODE_OVERSIZED when a length prefix exceeds the limit.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) {
      throw new FlotillaError('FLO_DECODE_OVERSIZED', 'frame decoder stopped after an oversized frame; reset it');
    }
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.expected < 0) {
        offset = this.readHeader(chunk, offset);
        if (this.expected === 0) frames.push(this.finish());
        continue;
      }
      const take = Math.min(this.expected - this.filled, chunk.byteLength - offset);
      this.reserve(this.filled + take);
      this.payload.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.expected) frames.push(this.finish());
    }
    return frames;
  }

  /** Forget any partial frame and the failed state. */
  reset(): void {
    this.headerFilled = 0;
    this.expected = -1;
    this.payload = new Uint8Array(0);
    this.filled = 0;
    this.failed = false;
  }

  private readHeader(chunk: Uint8Array, offset: number): number {
    const take = Math.min(FRAME_LENGTH_BYTES - this.headerFilled, chunk.byteLength - offset);
    this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
    this.headerFilled += take;
    if (this.headerFilled < FRAME_LENGTH_BYTES) return offset + take;
    const length = new DataView(this.header.buffer).getUint32(0);
    const limit = this.currentFrameBytesMax;
    if (length > limit) {
      this.failed = true;
      throw new FlotillaError('FLO_DECODE_OVERSIZED', `frame of ${length} bytes exceeds ${limit}`, { size: length, limit });
    }
    this.framesStarted++;
    this.headerFilled = 0;
    this.expected = length;
    return offset + take;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.payload.byteLength) return;
    const grown = Math.min(this.expected, Math.max(bytes, PAYLOAD_INITIAL_BYTES, this.payload.byteLength * 2));
    const next = new Uint8Array(grown);
    next.set(this.payload.subarray(0, this.filled));
    this.payload = next;
  }

  private finish(): Uint8Array {
    // Hand the buffer over when it is exactly the payload; otherwise copy the filled part.
    const out = this.payload.byteLength === this.expected ? this.payload : this.payload.slice(0, this.filled);
    this.payload = new Uint8Array(0);
    this.filled = 0;
    this.expected = -1;
    return out;
  }
}
