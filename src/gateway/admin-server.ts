/**
 * The HTTP admin server of one node: health, members, partitions, migrations and
 * Prometheus metrics as JSON/text over `node:http`, or `node:https` when given a
 * certificate and key. Every answer, errors included, is
 * JSON (or metrics text); each request has a deadline; bodies are refused unread past a
 * bound; a failing route yields a catalogued error, never a crash. Requests must name
 * this server in their Host, come from no foreign origin, and (but for `/health` and,
 * by default, `/metrics`) carry the admin token; idle and slow connections give way to
 * new ones at the connection limits.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as NetServer } from 'node:net';
import { TLS_MIN_VERSION } from '../transport/tls-config.js';
import { FlotillaError } from '../core/errors.js';
import { resolveAdminConfig, type AdminServerConfig } from './admin-config.js';
import { ADMIN_ROUTES, ALLOWED_METHODS, checkQuery, type AdminRoute } from './admin-routes.js';
import type { AdminSource } from './admin-source.js';
import { answerClientError, consumeBody, send, sendError, silentAdminLogger, toFlotillaError, type AdminLogger } from './http-io.js';
import { serveKvRequest } from './kv-routes.js';
import { createAdminMetrics, type AdminMetrics } from './metrics.js';
import { checkHostAndOrigin, checkToken, tokenDigestOf, type AccessPolicy } from './admin-access.js';
import { ConnectionGuard } from './connection-guard.js';

/**
 * HTTPS for the admin API: the server's certificate (intermediates may follow) and key,
 * as PEM. Clients verify it against the CA that signed it (e.g. the cluster CA); they
 * are not asked for certificates, so scrapers and `curl --cacert` work as they are.
 */
export interface AdminTlsOptions {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
}

/** Options of `startAdminServer`: the node to serve plus any `AdminServerConfig` field. */
export interface AdminServerOptions extends Partial<AdminServerConfig> {
  readonly source: AdminSource;
  /** Structured logger (pino fits); defaults to silent. */
  readonly logger?: AdminLogger;
  /** Serve HTTPS with this certificate and key. Default none: plain HTTP. */
  readonly tls?: AdminTlsOptions;
}

/** A running admin server. */
export interface AdminServer {
  /** The bound interface and port (the real port when 0 was asked for). */
  address(): { host: string; port: number };
  /** `https` when serving TLS, else `http`. */
  readonly protocol: 'http' | 'https';
  /** The server's metrics registry. */
  readonly metrics: AdminMetrics;
  /** Stops listening, drops open connections and stops the metric samplers. Idempotent. */
  close(): Promise<void>;
}

/** How often Node sweeps connections for header and request timeouts, at most, in ms. */
const CONNECTIONS_CHECK_INTERVAL_MS_MAX = 500;
/** Served without the admin token whatever the configuration: load balancers and orchestrators probe it. */
const HEALTH_PATH = '/health';
/** Served without the admin token while `metricsPublic`, so scrapers need no credentials. */
const METRICS_PATH = '/metrics';

const ROUTES_BY_PATH: ReadonlyMap<string, AdminRoute> = new Map(ADMIN_ROUTES.map((r) => [r.path, r]));
const ALLOW_HEADER = ALLOWED_METHODS.join(', ');
const URL_BASE = 'http://admin.invalid';

/**
 * Validates the options, binds and starts serving. Rejects with `FLO_CONFIG_INVALID` for
 * a bad option, or with the raw socket error (e.g. EADDRINUSE) when the bind fails.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { source, logger = silentAdminLogger, tls, ...overrides } = options;
  const config = resolveAdminConfig(overrides);
  const log = { nodeId: source.nodeId, component: 'admin' };
  const httpOptions: ServerOptions = {
    // Our deadline starts once headers are parsed and answers 504 as JSON; Node's own
    // request timeout counts from the first byte, so it is set past ours as a backstop.
    requestTimeout: config.requestTimeoutMs + config.headersTimeoutMs,
    headersTimeout: config.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(config.headersTimeoutMs, CONNECTIONS_CHECK_INTERVAL_MS_MAX),
    keepAliveTimeout: config.idleTimeoutMs,
  };
  const server = tls === undefined ? createServer(httpOptions) : createTlsAdminServer(httpOptions, tls, config.headersTimeoutMs);
  // Backstop for a socket silent for longer than any request may take.
  server.setTimeout(config.requestTimeoutMs + config.headersTimeoutMs);
  const metrics = createAdminMetrics(source, { processMetrics: config.processMetrics });
  new ConnectionGuard(config).attach(server);
  const policy: AccessPolicy = { boundHost: config.host, allowedHosts: config.allowedHosts, tokenDigest: config.token === undefined ? undefined : tokenDigestOf(config.token) };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    serveWithDeadline(req, res, { source, metrics, config, policy, logger, log });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket));
  if (tls !== undefined) {
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => logger.debug?.({ ...log, code: err.code, error: err.message }, 'admin TLS handshake failed'));
  }
  try {
    await listen(server, config.host, config.port);
  } catch (err) {
    metrics.close();
    throw err;
  }
  server.on('error', (err) => logger.warn({ ...log, error: err.message }, 'admin server error'));
  return adminServerHandle(server, metrics, tls === undefined ? 'http' : 'https');
}

/** An HTTPS server with the same limits; the TLS handshake gets the request deadline. */
function createTlsAdminServer(httpOptions: ServerOptions, tls: AdminTlsOptions, handshakeTimeoutMs: number): Server {
  let server;
  try {
    server = createHttpsServer({ ...httpOptions, cert: pemBuffer(tls.cert), key: pemBuffer(tls.key), minVersion: TLS_MIN_VERSION, handshakeTimeout: handshakeTimeoutMs });
  } catch (err) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `admin API TLS certificate or key: ${err instanceof Error ? err.message : String(err)}`);
  }
  // An https.Server serves requests exactly like an http.Server; only its sockets differ.
  return server as unknown as Server;
}

function pemBuffer(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function listen(server: NetServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function adminServerHandle(server: Server, metrics: AdminMetrics, protocol: 'http' | 'https'): AdminServer {
  let closing: Promise<void> | undefined;
  const bound = server.address();
  if (typeof bound !== 'object' || bound === null) throw new FlotillaError('FLO_INTERNAL', 'admin server is not bound');
  const address = { host: bound.address, port: bound.port };
  return {
    address: () => ({ ...address }),
    protocol,
    metrics,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        metrics.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

interface ServeContext {
  readonly source: AdminSource;
  readonly metrics: AdminMetrics;
  readonly config: AdminServerConfig;
  readonly policy: AccessPolicy;
  readonly logger: AdminLogger;
  readonly log: Record<string, unknown>;
}

function serveWithDeadline(req: IncomingMessage, res: ServerResponse, ctx: ServeContext): void {
  const startedAt = performance.now();
  const deadline = setTimeout(() => {
    ctx.logger.warn({ ...ctx.log, method: req.method, url: req.url, requestTimeoutMs: ctx.config.requestTimeoutMs }, 'admin request deadline exceeded');
    sendError(res, new FlotillaError('FLO_TIMEOUT', `no response within ${ctx.config.requestTimeoutMs} ms`), { connection: 'close' });
  }, ctx.config.requestTimeoutMs);
  res.once('close', () => {
    clearTimeout(deadline);
    ctx.logger.debug?.({ ...ctx.log, method: req.method, url: req.url, status: res.statusCode, durationMs: performance.now() - startedAt }, 'admin request');
  });
  serve(req, res, ctx).catch((err: unknown) => {
    const error = toFlotillaError(err);
    if (error.status >= 500) {
      ctx.logger.error({ ...ctx.log, method: req.method, url: req.url, err }, 'admin route failed');
    }
    // A body left unread (refused, or the request failed first) could be endless: close
    // the connection rather than let Node drain it.
    sendError(res, error, req.complete ? {} : { connection: 'close' });
  });
}

/** Refuses a request from the wrong host or origin, or without the token where one is needed. */
function checkAccess(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ServeContext): void {
  checkHostAndOrigin(req.headers, ctx.policy);
  const open = url.pathname === HEALTH_PATH || (url.pathname === METRICS_PATH && ctx.config.metricsPublic);
  if (open) return;
  // The challenge header must ride on the 401; set it before the check may throw.
  if (ctx.policy.tokenDigest !== undefined) res.setHeader('www-authenticate', 'Bearer realm="flotilla-admin"');
  checkToken(req.headers, ctx.policy);
  res.removeHeader('www-authenticate');
}

async function serve(req: IncomingMessage, res: ServerResponse, ctx: ServeContext): Promise<void> {
  const url = parseUrl(req.url);
  checkAccess(req, res, url, ctx);
  if (await serveKvRequest(req, res, url, ctx.source)) return;
  const route = ROUTES_BY_PATH.get(url.pathname);
  if (route === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no route ${url.pathname}`, { path: url.pathname });
  if (!(ALLOWED_METHODS as readonly string[]).includes(req.method ?? '')) {
    // The Allow header must ride on the error response; set it before throwing.
    res.setHeader('allow', ALLOW_HEADER);
    throw new FlotillaError('FLO_METHOD_NOT_ALLOWED', `${req.method ?? '?'} ${route.path}; allowed: ${ALLOW_HEADER}`, { allow: [...ALLOWED_METHODS] });
  }
  await consumeBody(req, ctx.config.bodyBytesMax);
  checkQuery(route, url.searchParams);
  const response = await route.handle({ source: ctx.source, metrics: ctx.metrics, query: url.searchParams });
  send(res, response);
}

function parseUrl(raw: string | undefined): URL {
  try {
    // Origin-form targets are appended, not resolved, so `//host/x` stays a path.
    const target = raw ?? '/';
    return target.startsWith('/') ? new URL(`${URL_BASE}${target}`) : new URL(target);
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed request target');
  }
}
