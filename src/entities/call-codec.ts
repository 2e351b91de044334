/**
 * The wire form of an entity call and its answer, carried as `ServiceRequest.payload`
 * of the `entities` service. Handler outcomes travel inside the answer (so the routing
 * client only retries routing failures, never a call that ran); only FLO_NOT_OWNER is
 * answered at the routing level, which sends the caller on to the new owner.
 */
import { ErrorCatalog, FlotillaError, type ErrorCode } from '../core/errors.js';
import type { EntityCall } from '../entities/call.js';
import { decodeValue, encodeValue } from '../entities/state-codec.js';

/** Service name of entity calls on the partition router. */
export const ENTITY_SERVICE = 'entities';

/** Encode a call (its chain and call id included). */
export function encodeCall(call: EntityCall): Uint8Array {
  return encodeValue([call.type, call.id, call.handler, call.args, call.meta, call.chain, call.callId ?? null]);
}

/** Decode a call; throws FLO_INVALID_ARGUMENT on a malformed one. */
export function decodeCall(bytes: Uint8Array): EntityCall {
  const raw = decodeValue(bytes);
  if (!Array.isArray(raw) || raw.length !== 7) throw malformed('not a 7-element array');
  const [type, id, handler, args, meta, chain, callId] = raw as unknown[];
  if (typeof type !== 'string' || typeof id !== 'string' || typeof handler !== 'string') throw malformed('type, id and handler must be strings');
  if (!Array.isArray(args)) throw malformed('args must be an array');
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw malformed('meta must be a map');
  if (!Array.isArray(chain) || !chain.every((c) => typeof c === 'string')) throw malformed('chain must be an array of strings');
  if (callId !== null && typeof callId !== 'string') throw malformed('callId must be a string');
  return {
    type,
    id,
    handler,
    args: args as unknown[],
    meta: meta as Record<string, unknown>,
    chain: chain as string[],
    ...(callId === null ? {} : { callId }),
  };
}

/** Encode a call's outcome: its result, or the error its caller gets. */
export function encodeOutcome(outcome: { ok: true; result: unknown } | { ok: false; error: FlotillaError }): Uint8Array {
  if (outcome.ok) return encodeValue([1, outcome.result]);
  const { error } = outcome;
  return encodeValue([0, error.code, detailOf(error), error.details === undefined ? null : safeDetails(error.details)]);
}

/** Decode an outcome: resolves with the result or throws the call's error. */
export function decodeOutcome(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) throw malformed('empty answer');
  const raw = decodeValue(bytes);
  if (!Array.isArray(raw)) throw malformed('answer is not an array');
  if (raw[0] === 1 && raw.length === 2) return raw[1];
  const [tag, code, detail, details] = raw as unknown[];
  if (tag !== 0 || typeof code !== 'string' || typeof detail !== 'string') throw malformed('bad error answer');
  const known: ErrorCode = Object.hasOwn(ErrorCatalog, code) ? (code as ErrorCode) : 'FLO_INTERNAL';
  const extra = typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : undefined;
  throw new FlotillaError(known, detail, known === code ? extra : { ...extra, remoteCode: code });
}

/** The thrower's detail: the message without the catalog's prefix. */
function detailOf(error: FlotillaError): string {
  const prefix = `${ErrorCatalog[error.code].message}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** Details as plain data (an unserializable one would fail the whole answer). */
function safeDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> | null {
  try {
    encodeValue(details);
    return { ...details };
  } catch {
    return null;
  }
}

function malformed(detail: string): FlotillaError {
  return new FlotillaError('FLO_INVALID_ARGUMENT', `malformed entity message: ${detail}`);
}
