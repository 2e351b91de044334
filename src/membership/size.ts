/**
 * Conservative size estimates for gossip updates and whole messages, used for the gossip
 * byte budget and the byte counters when the wire codec's exact sizes are not injected.
 * Each record is sized as a msgpack map with its keys, which is never smaller than the
 * codec's positional encoding, so a budget met under the estimate is met on the wire.
 */
import type { GossipUpdate, Message } from '../protocol/messages.js';

/** Bytes of a gossip update on the wire (an upper bound is fine, an under-estimate is not). */
export type UpdateSizer = (update: GossipUpdate) => number;

/** Bytes of a whole message on the wire. */
export type MessageSizer = (message: Message) => number;

/** Slack added to every estimate for framing the codec may add around a record. */
const ESTIMATE_SLACK_BYTES = 8;

/** UTF-8 byte length of a string, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function containerHeader(count: number): number {
  return count < 0x10 ? 1 : count < 0x10000 ? 3 : 5;
}

function numberBytes(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) return 9;
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function stringBytes(text: string): number {
  const n = utf8Length(text);
  return (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

/**
 * msgpack size of `value` encoded as maps with their keys. The wire codec encodes records
 * as positional arrays with a short type code instead, so this never under-estimates.
 */
export function mapEncodedSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'string') return stringBytes(value);
  if (value instanceof Uint8Array) return (value.byteLength < 0x100 ? 2 : value.byteLength < 0x10000 ? 3 : 5) + value.byteLength;
  if (Array.isArray(value)) {
    let size = containerHeader(value.length);
    for (const item of value as unknown[]) size += mapEncodedSize(item);
    return size;
  }
  if (typeof value === 'object') {
    // for-in without allocating entry arrays: this runs for every message sent and received.
    const record = value as Record<string, unknown>;
    let size = 0;
    let count = 0;
    for (const key in record) {
      if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
      const item = record[key];
      if (item === undefined) continue;
      size += stringBytes(key) + mapEncodedSize(item);
      count++;
    }
    return containerHeader(count) + size;
  }
  return 9;
}

/** Default update sizer: the map-encoded size plus slack. */
export function estimateUpdateSize(update: GossipUpdate): number {
  return mapEncodedSize(update) + ESTIMATE_SLACK_BYTES;
}

/** Default message sizer: the map-encoded size plus slack. */
export function estimateMessageSize(message: Message): number {
  return mapEncodedSize(message) + ESTIMATE_SLACK_BYTES;
}
