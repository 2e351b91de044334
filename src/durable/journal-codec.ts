/**
 * How a step's outcome and a workflow's result are stored: msgpack of either the value or
 * the error (code, message, details), so a replay returns or throws exactly what the first
 * run did.
 */
import { ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import { decodeValue, encodeValue } from '../entities/state-codec.js';

/** A stored outcome. */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string; readonly message: string; readonly details?: unknown };

/** Encode a value outcome. */
export function encodeOk(value: unknown): Uint8Array {
  return encodeValue({ ok: true, value: value ?? null });
}

/** Encode an error outcome; non-catalogued errors keep their message under `fallback`. */
export function encodeError(error: unknown, fallback: ErrorCode, extra?: Record<string, unknown>): Uint8Array {
  const code = isFlotillaError(error) ? error.code : fallback;
  const message = error instanceof Error ? error.message : String(error);
  const details = { ...(isFlotillaError(error) ? error.details : undefined), ...extra };
  return encodeValue({ ok: false, code, message, details });
}

/** Decode a stored outcome; throws FLO_STORAGE on bytes that are not one. */
export function decodeOutcome(bytes: Uint8Array): Outcome {
  const raw = decodeValue(bytes) as { ok?: unknown; value?: unknown; code?: unknown; message?: unknown; details?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || typeof raw.ok !== 'boolean') throw new FlotillaError('FLO_STORAGE', 'a journal outcome is unreadable');
  if (raw.ok) return { ok: true, value: raw.value ?? undefined };
  return { ok: false, code: String(raw.code), message: String(raw.message), details: raw.details };
}

/** The error a failed outcome stands for, as a FlotillaError (its original message kept). */
export function outcomeError(outcome: Extract<Outcome, { ok: false }>): FlotillaError {
  const code: ErrorCode = Object.hasOwn(ErrorCatalog, outcome.code) ? (outcome.code as ErrorCode) : 'FLO_ACTIVITY_FAILED';
  const error = new FlotillaError(code, undefined, typeof outcome.details === 'object' && outcome.details !== null ? (outcome.details as Record<string, unknown>) : undefined);
  error.message = outcome.message;
  return error;
}
