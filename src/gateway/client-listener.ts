/**
 * The client gateway's socket plumbing: one Fastify instance with `@fastify/websocket`
 * on a plain `node:http` server. An upgrade on any path becomes a WebSocket handed to the
 * gateway (client-gateway.ts holds every frame rule); any plain HTTP request gets a
 * catalogued JSON error, and an unparsable one our JSON 400. Fastify and the WebSocket
 * plugin are imported only when a gateway starts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { FlotillaError } from '../core/errors.js';
import { sendError, toFlotillaError } from './http-io.js';

/** What the gateway listens with. */
export interface ClientListenerOptions {
  readonly host: string;
  readonly port: number;
  /** Largest WebSocket message accepted, in bytes; a bigger one closes the socket (1009). */
  readonly frameBytesMax: number;
  /** Called with each upgraded connection. */
  readonly onConnection: (ws: WebSocket) => void;
}

/** A listening client endpoint. */
export interface ClientListener {
  /** Open WebSocket connections. */
  readonly clients: ReadonlySet<WebSocket>;
  address(): AddressInfo;
  /**
   * Stops accepting connections and resolves once every connection has ended; the
   * caller closes (or terminates) the WebSockets themselves.
   */
  close(): Promise<void>;
}

/** Every path upgrades, as clients have always connected to the bare `ws://host:port`. */
const ANY_PATH = '/*';

/** Binds and starts accepting. Rejects with FLO_CONFIG_INVALID when the bind fails. */
export async function listenForClients(options: ClientListenerOptions): Promise<ClientListener> {
  const [{ createFastify }, { default: websocket }] = await Promise.all([import('./fastify-base.js'), import('@fastify/websocket')]);
  const server = createServer();
  const app = await createFastify(server, {
    frameworkErrors: (_error, _request, reply) => sendError(reply, new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed request target')),
  });
  await app.register(websocket, {
    options: { maxPayload: options.frameBytesMax, perMessageDeflate: false, clientTracking: true },
    // A socket error ends the connection; the gateway's close handler cleans up after it.
    errorHandler: (_error, socket) => socket.terminate(),
    // The gateway closes its connections itself, with its own close code.
    preClose(done) {
      this.websocketServer.close();
      done();
    },
  });
  const notWebSocket = (): never => {
    throw new FlotillaError('FLO_NOT_FOUND', 'this port serves WebSocket clients only: open a WebSocket');
  };
  app.setErrorHandler((err, _request, reply) => sendError(reply, toFlotillaError(err)));
  app.setNotFoundHandler(notWebSocket);
  app.route({ method: 'GET', url: ANY_PATH, handler: notWebSocket, wsHandler: (socket) => options.onConnection(socket) });
  await app.ready();
  try {
    await listen(server, options.host, options.port);
  } catch (error) {
    await app.close();
    throw new FlotillaError('FLO_CONFIG_INVALID', `cannot listen for clients on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    clients: app.websocketServer.clients,
    address: () => server.address() as AddressInfo,
    async close() {
      // Fastify closes a server only when it listened itself; this one was bound here.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await app.close();
      await closed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
