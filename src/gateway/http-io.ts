/**
 * What the admin API and the gateway add around Fastify so every answer stays a
 * catalogued JSON error: mapping Fastify's own errors to `FLO_*` codes, writing an error
 * reply, answering requests Node could not parse, and refusing bodies on the methods
 * Fastify never reads a body for (GET, HEAD), which it would otherwise leave unread.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { JSON_CONTENT_TYPE } from './route-kit.js';

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

/** Fastify's error codes that mean a body over the route's limit. */
const OVERSIZED_CODES: ReadonlySet<string> = new Set(['FST_ERR_CTP_BODY_TOO_LARGE']);

/**
 * The catalogued form of any thrown value: a Fastify client error (a 4xx with an
 * `FST_*` code: bad content length, body too large, bad URL) becomes the matching
 * `FLO_*` code; anything else unexpected becomes `FLO_INTERNAL`, its message withheld.
 */
export function toFlotillaError(err: unknown, bodyBytesMax?: number): FlotillaError {
  if (isFlotillaError(err)) return err;
  const fastify = err as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  const code = typeof fastify?.code === 'string' ? fastify.code : '';
  if (OVERSIZED_CODES.has(code)) {
    return new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bodyBytesMax ?? '?'} bytes`, bodyBytesMax === undefined ? undefined : { bodyBytesMax });
  }
  const status = typeof fastify?.statusCode === 'number' ? fastify.statusCode : 500;
  if (code.startsWith('FST_') && status >= 400 && status < 500) return new FlotillaError('FLO_INVALID_ARGUMENT', `malformed request (${code})`);
  return new FlotillaError('FLO_INTERNAL');
}

/**
 * Answers `err` as JSON with its catalog status, closing the connection when the request
 * body was not read to its end (it could be endless); destroys the socket if a response
 * already began. Headers set on `reply` before (`allow`, `www-authenticate`) ride along.
 */
export function sendError(reply: FastifyReply, err: FlotillaError): void {
  if (reply.sent || reply.raw.headersSent) {
    if (!reply.raw.writableEnded) reply.raw.destroy();
    return;
  }
  if (!reply.request.raw.complete) reply.header('connection', 'close');
  void reply.code(err.status).header('content-type', JSON_CONTENT_TYPE).header('cache-control', 'no-store').send(JSON.stringify(err.toJSON()));
}

function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  return raw === undefined ? undefined : Number(raw);
}

function oversized(bodyBytesMax: number): FlotillaError {
  return new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bodyBytesMax} bytes`, { bodyBytesMax });
}

/**
 * Rejects with `FLO_DECODE_OVERSIZED` when `req` declares a body longer than
 * `bodyBytesMax`, before any of it is read.
 */
export function checkDeclaredLength(req: IncomingMessage, bodyBytesMax: number): void {
  const length = declaredLength(req);
  if (length !== undefined && length > bodyBytesMax) throw oversized(bodyBytesMax);
}

/**
 * Resolves once the request body is consumed, if it fits in `bodyBytesMax` bytes; rejects
 * with `FLO_DECODE_OVERSIZED` as soon as it cannot (from the declared length, or while
 * reading a chunked body), without reading further. Fastify reads no body for GET and
 * HEAD, so without this a body sent with them would pass unchecked.
 */
export function consumeBody(req: IncomingMessage, bodyBytesMax: number): Promise<void> {
  const length = declaredLength(req);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === 0)) return Promise.resolve();
  if (length !== undefined && length > bodyBytesMax) return Promise.reject(oversized(bodyBytesMax));
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > bodyBytesMax) {
        req.off('data', onData);
        req.pause();
        reject(oversized(bodyBytesMax));
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

/**
 * Answers a request Node could not parse with a JSON error, then closes the socket
 * (Fastify's `clientErrorHandler`; its default answers with a body of its own shape).
 */
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
