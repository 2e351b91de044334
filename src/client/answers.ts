/**
 * How the client reads gateways' answers: versioned reads, and a node's error as a
 * catalogued FlotillaError (retryable or final), so routing decides alike for map ops
 * and entity calls.
 */
import { ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import type { EventVersion } from '../protocol/client-frames.js';
import { decodeValue, unpackValue, type KvValue } from '../protocol/map-values.js';

/** A versioned read: nil (no slot), or `[value | nil, millis, counter, node]`. */
export function decodeVersioned(payload: Uint8Array | null): { value: KvValue | null; version: EventVersion } | undefined {
  if (payload === null) return undefined;
  const f = unpackValue(payload, 'read');
  if (f === null) return undefined;
  if (!Array.isArray(f) || f.length !== 4 || typeof f[1] !== 'number' || typeof f[2] !== 'number' || typeof f[3] !== 'string') {
    throw new FlotillaError('FLO_DECODE_INVALID', 'a read answer is [value, millis, counter, node]');
  }
  return { value: f[0] === null ? null : decodeValue(f[0] as Uint8Array), version: { millis: f[1], counter: f[2], node: f[3] } };
}

export function isRetryable(error: unknown): boolean {
  return isFlotillaError(error) && error.retryable;
}

/** A node's error as a FlotillaError (an unknown code becomes FLO_INTERNAL). */
export function remoteError(code: string, message: string): FlotillaError {
  const known = Object.hasOwn(ErrorCatalog, code) ? (code as ErrorCode) : 'FLO_INTERNAL';
  const prefix = `${ErrorCatalog[known].message}: `;
  return new FlotillaError(known, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}
