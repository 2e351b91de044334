/**
 * The HTTP admin server of one node: health, members, partitions, migrations and
 * Prometheus metrics as JSON/text, served by Fastify (admin-app.ts) on a `node:http`
 * server, or `node:https` when given a certificate and key. Every answer, errors included, is
 * JSON (or metrics text); each request has a deadline; bodies are refused unread past a
 * bound; a failing route yields a catalogued error, never a crash. Requests must name
 * this server in their Host, come from no foreign origin, and (but for `/health` and,
 * by default, `/metrics`) carry the admin token; idle and slow connections give way to
 * new ones at the connection limits. Fastify is imported when a server starts, so a node
 * without an admin listener does not load it.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createRequire } from 'node:module';
import type * as Https from 'node:https';
import type { Server as NetServer } from 'node:net';
import { TLS_MIN_VERSION } from '../transport/tls-config.js';
import { FlotillaError } from '../core/errors.js';
import { resolveAdminConfig, type AdminServerConfig } from './admin-config.js';
import type { AdminSource } from './admin-source.js';
import { silentAdminLogger, type AdminLogger } from './http-io.js';
import { createAdminMetrics, type AdminMetrics } from './metrics.js';
import { tokenDigestOf, type AccessPolicy } from './admin-access.js';
import { ConnectionGuard } from './connection-guard.js';
import type { AdminAppContext } from './admin-app.js';

/** `node:https` (and with it `node:tls`) is loaded only by a server given a certificate. */
const loadBuiltin = createRequire(import.meta.url);

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
  const ctx: AdminAppContext = { source, metrics, config, policy, logger, log };
  if (tls !== undefined) {
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => logger.debug?.({ ...log, code: err.code, error: err.message }, 'admin TLS handshake failed'));
  }
  let app: { close(): Promise<void> };
  try {
    app = await createAdminApp(server, ctx);
    await listen(server, config.host, config.port);
  } catch (err) {
    metrics.close();
    server.close(() => undefined);
    throw err;
  }
  server.on('error', (err) => logger.warn({ ...log, error: err.message }, 'admin server error'));
  return adminServerHandle(server, app, metrics, tls === undefined ? 'http' : 'https');
}

/**
 * The Fastify instance serving `server`: no logger of its own (requests are logged by
 * admin-app.ts through ours), JSON answers for unparsable requests and targets, and the
 * Node server built here so its timeouts, TLS and connection guard stay ours.
 */
async function createAdminApp(server: Server, ctx: AdminAppContext): Promise<{ close(): Promise<void> }> {
  const [{ createFastify }, { registerAdminApp, answerFrameworkError }] = await Promise.all([import('./fastify-base.js'), import('./admin-app.js')]);
  const app = await createFastify(server, {
    frameworkErrors: (_error, request, reply) => answerFrameworkError(ctx, request, reply),
  });
  registerAdminApp(app, ctx);
  await app.ready();
  return app;
}

/** An HTTPS server with the same limits; the TLS handshake gets the request deadline. */
function createTlsAdminServer(httpOptions: ServerOptions, tls: AdminTlsOptions, handshakeTimeoutMs: number): Server {
  let server;
  try {
    server = (loadBuiltin('node:https') as typeof Https).createServer({ ...httpOptions, cert: pemBuffer(tls.cert), key: pemBuffer(tls.key), minVersion: TLS_MIN_VERSION, handshakeTimeout: handshakeTimeoutMs });
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

function adminServerHandle(server: Server, app: { close(): Promise<void> }, metrics: AdminMetrics, protocol: 'http' | 'https'): AdminServer {
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
        // Fastify closes a server only when it listened itself; this one was bound here.
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => app.close());
      return closing;
    },
  };
}
