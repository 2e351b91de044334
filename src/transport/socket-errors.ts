/**
 * Maps Node socket errors (errno codes such as ECONNREFUSED) to catalogued Flotilla
 * errors, keeping the original code in the details, so callers branch on one error type.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';

/** Errno codes that mean the operation ran out of time rather than failed outright. */
const timeoutCodes = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Convert any socket-level error into a FlotillaError (FLO_TIMEOUT or FLO_CONNECTION_FAILED). */
export function toTransportError(err: unknown, peer: string): FlotillaError {
  if (isFlotillaError(err)) return err;
  const cause = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (cause !== undefined && timeoutCodes.has(cause)) {
    return new FlotillaError('FLO_TIMEOUT', `${peer}: ${message}`, { peer, cause });
  }
  return new FlotillaError('FLO_CONNECTION_FAILED', `${peer}: ${message}`, { peer, cause: cause ?? 'unknown' });
}
