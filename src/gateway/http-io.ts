/**
 * The small HTTP plumbing the admin server needs on top of `node:http`: writing a route's
 * response or a catalogued error as JSON, refusing request bodies without reading past a
 * bound, and answering malformed requests with JSON instead of Node's plain-text default.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { JSON_CONTENT_TYPE, type RouteResponse } from './admin-routes.js';

/** Structured logger the admin server writes to (pino fits it as is). */
export interface AdminLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  debug?(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything (the default when none is given). */
export const silentAdminLogger: AdminLogger = {
  warn: () => undefined,
  error: () => undefined,
};

/** Writes `response` unless the exchange is already answered (e.g. by the deadline). */
export function send(res: ServerResponse, response: RouteResponse, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(response.body, 'utf8');
  res.writeHead(response.status, {
    'content-type': response.contentType,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** The catalogued form of any thrown value: unexpected ones become `FLO_INTERNAL`. */
export function toFlotillaError(err: unknown): FlotillaError {
  return isFlotillaError(err) ? err : new FlotillaError('FLO_INTERNAL');
}

/** Writes `err` as JSON with its catalog status; destroys the socket if a response began. */
export function sendError(res: ServerResponse, err: FlotillaError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, { status: err.status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(err.toJSON()) }, headers);
}

function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  return raw === undefined ? undefined : Number(raw);
}

/**
 * Resolves once the request body is consumed, if it fits in `bodyBytesMax` bytes; rejects
 * with `FLO_DECODE_OVERSIZED` as soon as it cannot (from the declared length, or while
 * reading a chunked body), without reading further.
 */
export function consumeBody(req: IncomingMessage, bodyBytesMax: number): Promise<void> {
  const length = declaredLength(req);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === 0)) return Promise.resolve();
  const tooLarge = (): FlotillaError =>
    new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bodyBytesMax} bytes; admin routes take no body`, { bodyBytesMax });
  if (length !== undefined && length > bodyBytesMax) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bodyBytesMax) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve());
    req.once('error', (err) => reject(new FlotillaError('FLO_INVALID_ARGUMENT', `request body: ${err.message}`)));
  });
}

function clientErrorOf(err: NodeJS.ErrnoException): FlotillaError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new FlotillaError('FLO_DECODE_OVERSIZED', 'request headers too large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new FlotillaError('FLO_TIMEOUT', 'request not received in time');
  return new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed HTTP request');
}

/** Answers a request Node could not parse with a JSON error, then closes the socket. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const error = clientErrorOf(err);
  const body = JSON.stringify(error.toJSON());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
      `content-type: ${JSON_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
