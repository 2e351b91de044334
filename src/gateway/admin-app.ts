/**
 * The admin API as routes, hooks and handlers on one Fastify instance. In request order:
 * a deadline starts (504 as JSON if the answer is not out in time); Host, Origin and the
 * admin token (but for `/health`, `/dashboard` and a public `/metrics`) are checked
 * before routing, so an unknown path without a token is a 401, not a 404; a body is
 * refused past the route's limit without being read further; then the route runs.
 * Every error, Fastify's own included, leaves as a catalogued JSON body.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { FlotillaError } from '../core/errors.js';
import { checkHostAndOrigin, checkToken, type AccessPolicy } from './admin-access.js';
import type { AdminServerConfig } from './admin-config.js';
import { ADMIN_ROUTES, ALLOWED_METHODS, checkQuery, type AdminRoute, type RouteResponse } from './admin-routes.js';
import type { AdminSource } from './admin-source.js';
import { DASHBOARD_PATH } from './dashboard-page.js';
import { checkDeclaredLength, consumeBody, sendError, toFlotillaError, type AdminLogger } from './http-io.js';
import { KV_KEY_METHODS, KV_SIZE_METHODS, matchKvPath, registerKvRoutes, type NoBodyHooks } from './kv-routes.js';
import type { AdminMetrics } from './metrics.js';

/** What the admin application serves and how. */
export interface AdminAppContext {
  readonly source: AdminSource;
  readonly metrics: AdminMetrics;
  readonly config: AdminServerConfig;
  readonly policy: AccessPolicy;
  readonly logger: AdminLogger;
  readonly log: Record<string, unknown>;
}

/** Served without the admin token whatever the configuration: load balancers and orchestrators probe it. */
const HEALTH_PATH = '/health';
/** Served without the admin token while `metricsPublic`, so scrapers need no credentials. */
const METRICS_PATH = '/metrics';
/** Methods Fastify reads no body for. */
const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

const ROUTE_PATHS: ReadonlySet<string> = new Set(ADMIN_ROUTES.map((r) => r.path));
const ALLOW_HEADER = ALLOWED_METHODS.join(', ');
const URL_BASE = 'http://admin.invalid';

/** Adds the admin API to `app` (a fresh instance: it takes over content parsing and errors). */
export function registerAdminApp(app: FastifyInstance, ctx: AdminAppContext): void {
  // Bodies arrive as raw bytes whatever their content type: the KV route checks the
  // UTF-8 and JSON itself, strictly (json-text.ts); every other route takes no body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addHook('onRequest', async (request, reply) => {
    startDeadline(request, reply, ctx);
    checkAccess(request, reply, parseUrl(request.url).pathname, ctx);
  });
  app.setErrorHandler((err: FastifyError | FlotillaError, request, reply) => {
    const error = toFlotillaError(err, bodyLimitOf(request, ctx));
    if (error.status >= 500) ctx.logger.error({ ...ctx.log, method: request.method, url: request.url, err }, 'admin route failed');
    sendError(reply, error);
  });
  app.setNotFoundHandler(async (request, reply) => {
    notFoundOrNotAllowed(request, reply, ctx);
  });
  const noBody = noBodyHooks(ctx.config.bodyBytesMax);
  for (const route of ADMIN_ROUTES) {
    app.get(route.path, { preParsing: noBody.preParsing, preValidation: noBody.preValidation }, (request, reply) => serveRoute(route, request, reply, ctx));
  }
  if (ctx.source.kv !== undefined) registerKvRoutes(app, ctx.source.kv, { noBody: noBodyHooks(0), send });
}

/**
 * Fastify's `frameworkErrors`: a target its router cannot decode. The access checks run
 * first, as for any request, so it tells nothing to a client without the token.
 */
export function answerFrameworkError(ctx: AdminAppContext, request: FastifyRequest, reply: FastifyReply): void {
  try {
    checkAccess(request, reply, '', ctx);
    sendError(reply, new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed request target'));
  } catch (err) {
    sendError(reply, toFlotillaError(err));
  }
}

/** Writes a route's answer, unless the deadline answered first. */
function send(reply: FastifyReply, response: RouteResponse): void {
  if (reply.sent) return;
  if (response.headers !== undefined) void reply.headers(response.headers);
  void reply.code(response.status).header('content-type', response.contentType).header('cache-control', 'no-store').send(response.body);
}

async function serveRoute(route: AdminRoute, request: FastifyRequest, reply: FastifyReply, ctx: AdminAppContext): Promise<void> {
  const query = parseUrl(request.url).searchParams;
  checkQuery(route, query);
  send(reply, await route.handle({ source: ctx.source, metrics: ctx.metrics, query }));
}

function startDeadline(request: FastifyRequest, reply: FastifyReply, ctx: AdminAppContext): void {
  const startedAt = performance.now();
  const deadline = setTimeout(() => {
    ctx.logger.warn({ ...ctx.log, method: request.method, url: request.url, requestTimeoutMs: ctx.config.requestTimeoutMs }, 'admin request deadline exceeded');
    reply.header('connection', 'close');
    sendError(reply, new FlotillaError('FLO_TIMEOUT', `no response within ${ctx.config.requestTimeoutMs} ms`));
  }, ctx.config.requestTimeoutMs);
  reply.raw.once('close', () => {
    clearTimeout(deadline);
    ctx.logger.debug?.({ ...ctx.log, method: request.method, url: request.url, status: reply.raw.statusCode, durationMs: performance.now() - startedAt }, 'admin request');
  });
}

/** Refuses a request from the wrong host or origin, or without the token where one is needed. */
function checkAccess(request: FastifyRequest, reply: FastifyReply, pathname: string, ctx: AdminAppContext): void {
  checkHostAndOrigin(request.headers, ctx.policy);
  // The dashboard page holds no data and no secret (its script asks for the token), and a
  // browser cannot put a bearer header on a navigation.
  const open = pathname === HEALTH_PATH || pathname === DASHBOARD_PATH || (pathname === METRICS_PATH && ctx.config.metricsPublic);
  if (open) return;
  // The challenge header must ride on the 401; set it before the check may throw.
  if (ctx.policy.tokenDigest !== undefined) reply.header('www-authenticate', 'Bearer realm="flotilla-admin"');
  checkToken(request.headers, ctx.policy);
  reply.removeHeader('www-authenticate');
}

/** A known path with a method it does not take is a 405 with `Allow`; anything else a 404. */
function notFoundOrNotAllowed(request: FastifyRequest, reply: FastifyReply, ctx: AdminAppContext): never {
  const { pathname } = parseUrl(request.url);
  const kvPath = matchKvPath(pathname);
  let allowed: readonly string[] | undefined;
  if (kvPath !== undefined) {
    if (ctx.source.kv === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no route ${pathname}: this node serves no key/value store`, { path: pathname });
    allowed = kvPath.kind === 'size' ? KV_SIZE_METHODS : KV_KEY_METHODS;
  } else if (ROUTE_PATHS.has(pathname)) {
    allowed = ALLOWED_METHODS;
  }
  if (allowed === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no route ${pathname}`, { path: pathname });
  // The Allow header must ride on the error response; set it before throwing.
  const allow = allowed === ALLOWED_METHODS ? ALLOW_HEADER : allowed.join(', ');
  reply.header('allow', allow);
  throw new FlotillaError('FLO_METHOD_NOT_ALLOWED', `${request.method} ${pathname}; allowed: ${allow}`, { allow: [...allowed] });
}

/**
 * Route hooks refusing any body over `bodyBytesMax` (413, `FLO_DECODE_OVERSIZED`): a
 * declared length at once, a GET or HEAD body (which Fastify never reads) while it is
 * read, and a parsed body (DELETE) once read, since Fastify's own limit cannot be 0.
 */
function noBodyHooks(bodyBytesMax: number): NoBodyHooks {
  return {
    preParsing: async (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload) => {
      checkDeclaredLength(request.raw, bodyBytesMax);
      if (BODYLESS_METHODS.has(request.method)) await consumeBody(request.raw, bodyBytesMax);
      return payload;
    },
    preValidation: async (request: FastifyRequest) => {
      if (Buffer.isBuffer(request.body) && request.body.length > bodyBytesMax) {
        throw new FlotillaError('FLO_DECODE_OVERSIZED', `request body exceeds ${bodyBytesMax} bytes`, { bodyBytesMax });
      }
    },
  };
}

/** The body limit the request's route applies, for the 413's details. */
function bodyLimitOf(request: FastifyRequest, ctx: AdminAppContext): number {
  const limit = request.routeOptions.bodyLimit;
  return request.method === 'PUT' && limit !== undefined ? limit : matchKvPathSafe(request.url) ? 0 : ctx.config.bodyBytesMax;
}

function matchKvPathSafe(target: string): boolean {
  try {
    return matchKvPath(parseUrl(target).pathname) !== undefined;
  } catch {
    return false;
  }
}

function parseUrl(raw: string): URL {
  try {
    // Origin-form targets are appended, not resolved, so `//host/x` stays a path.
    return raw.startsWith('/') ? new URL(`${URL_BASE}${raw}`) : new URL(raw);
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed request target');
  }
}
