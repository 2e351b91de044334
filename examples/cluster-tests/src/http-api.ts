/**
 * A small JSON-over-HTTP server for the runner's API on `node:http`: route matching with
 * `:param` segments, bounded request bodies, a deadline on every request, and every
 * failure answered as `{ error, code }` with the catalogued status. Routes are plain
 * data, so tests can serve their own (a slow one, to see the deadline fire).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlotillaError, isFlotillaError } from 'flotilla';

/** Methods the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** What a route handler receives. */
export interface RouteRequest {
  /** The `:name` segments of the pattern, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The parsed JSON body (`undefined` for routes that ignore their body). */
  readonly body: unknown;
  readonly query: URLSearchParams;
  /** Aborted when the request's deadline passes or the client goes away. */
  readonly signal: AbortSignal;
}

/** One route. `body: 'json'` requires a JSON body; `'ignored'` reads and drops any body. */
export interface Route {
  readonly method: HttpMethod;
  /** e.g. `/counter/:id/increment`. */
  readonly path: string;
  readonly body: 'json' | 'ignored';
  /** The response value, sent as JSON (`undefined` becomes `null`); a throw becomes an error response. */
  handle(request: RouteRequest): unknown;
}

/** A route's answer with a status other than 200 (e.g. `/health` while not ok). */
export class RouteAnswer {
  constructor(
    readonly status: number,
    readonly value: unknown,
  ) {}
}

/** The structured logger the server writes to (pino fits). */
export interface HttpApiLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Options of `startHttpApi`. */
export interface HttpApiOptions {
  readonly host: string;
  /** 0 lets the OS pick; read it back from `HttpApi.port`. */
  readonly port: number;
  readonly routes: readonly Route[];
  /** Deadline of one request, ms: past it the answer is 504 FLO_TIMEOUT. */
  readonly requestTimeoutMs: number;
  /** Largest accepted request body, bytes: past it 413 FLO_DECODE_OVERSIZED. */
  readonly bodyBytesMax: number;
  readonly logger?: HttpApiLogger;
}

/** A running API server. */
export interface HttpApi {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, cuts open connections, resolves once closed. */
  close(): Promise<void>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly string[];
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Answers `[status, body]` for a thrown value; unexpected errors are 500 FLO_INTERNAL. */
export function errorResponse(err: unknown): { status: number; body: { error: string; code: string } } {
  if (isFlotillaError(err)) return { status: err.status, body: { error: err.message, code: err.code } };
  return { status: 500, body: { error: 'Internal error', code: 'FLO_INTERNAL' } };
}

function splitPath(pathname: string): string[] {
  return pathname.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = actual[i]!;
    if (want.startsWith(':')) params[want.slice(1)] = decodeSegment(got);
    else if (want !== got) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `malformed URL segment ${JSON.stringify(segment)}`);
  }
}

/** Finds the route for `method path`: 404 when no pattern matches, 405 when only the method is wrong. */
function findRoute(routes: readonly CompiledRoute[], method: string, pathname: string): { route: Route; params: Record<string, string> } {
  const actual = splitPath(pathname);
  let pathMatched = false;
  for (const compiled of routes) {
    const params = matchSegments(compiled.segments, actual);
    if (params === undefined) continue;
    if (compiled.route.method === method) return { route: compiled.route, params };
    pathMatched = true;
  }
  if (pathMatched) throw new FlotillaError('FLO_METHOD_NOT_ALLOWED', `${method} ${pathname}`);
  throw new FlotillaError('FLO_NOT_FOUND', `no route ${method} ${pathname}`);
}

/** Reads the whole body, refusing it as soon as it passes `bodyBytesMax`. */
function readBody(req: IncomingMessage, bodyBytesMax: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  const tooLarge = (): FlotillaError => new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bodyBytesMax} bytes`, { bodyBytesMax });
  if (declared > bodyBytesMax) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > bodyBytesMax) {
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', (err) => reject(new FlotillaError('FLO_INVALID_ARGUMENT', `request body: ${err.message}`)));
  });
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'a JSON body is required');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new FlotillaError('FLO_DECODE_MALFORMED', `body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(value === undefined ? null : value), 'utf8');
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': String(body.length), 'cache-control': 'no-store' });
  res.end(body);
}

async function answer(req: IncomingMessage, options: HttpApiOptions, routes: readonly CompiledRoute[], signal: AbortSignal): Promise<{ status: number; value: unknown }> {
  const url = new URL(req.url ?? '/', 'http://runner');
  const { route, params } = findRoute(routes, req.method ?? 'GET', url.pathname);
  const raw = await readBody(req, options.bodyBytesMax);
  const body = route.body === 'json' ? parseJson(raw) : undefined;
  const result: unknown = await route.handle({ params, body, query: url.searchParams, signal });
  return result instanceof RouteAnswer ? { status: result.status, value: result.value } : { status: 200, value: result };
}

/** Runs one exchange under its deadline; whatever happens, exactly one response goes out. */
async function serve(req: IncomingMessage, res: ServerResponse, options: HttpApiOptions, routes: readonly CompiledRoute[]): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new FlotillaError('FLO_TIMEOUT', `request took longer than ${options.requestTimeoutMs} ms`, { requestTimeoutMs: options.requestTimeoutMs }));
    }, options.requestTimeoutMs);
  });
  res.once('close', () => controller.abort());
  try {
    const { status, value } = await Promise.race([answer(req, options, routes, controller.signal), deadline]);
    send(res, status, value);
  } catch (err) {
    const { status, body } = errorResponse(err);
    if (status >= 500) options.logger?.[status === 500 ? 'error' : 'warn']({ method: req.method, url: req.url, err }, 'request failed');
    send(res, status, body);
    // A body left unread (refused early) must not be parsed as the next request.
    if (!req.complete) res.once('finish', () => req.destroy());
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the API server; resolves once it listens. */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const routes = options.routes.map((route) => ({ route, segments: splitPath(route.path) }));
  const server: Server = createServer((req, res) => void serve(req, res, options, routes));
  // Node's own request timeout answers in plain text; ours answers first, in JSON.
  server.requestTimeout = options.requestTimeoutMs + 5_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"malformed HTTP request","code":"FLO_INVALID_ARGUMENT"}');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    host: options.host,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
