/**
 * The TCP side of the transport: a listener for inbound framed connections, the outbound
 * connection pool, and request/response with correlation ids on top. Inbound and pooled
 * connections share one dispatcher, so a reply is handled the same whichever way it came.
 */
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Address } from '../core/model.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Message } from '../protocol/messages.js';
import type { MessageCodec } from './message-codec.js';
import type { TransportConfig } from './config.js';
import { TrafficCounters, type TrafficStats } from './counters.js';
import type { WarnOnce } from './logger.js';
import { formatAddress } from './address.js';
import { ConnectionPool, type PoolStats } from './connection-pool.js';
import { decodeErrorPayload, encodeErrorPayload, FrameKind, type Envelope } from './envelope.js';
import { RequestTracker, type RequestStats } from './request-tracker.js';
import { FramedConnection } from './tcp-connection.js';
import { admitInbound, PendingTlsSockets } from './inbound-admission.js';
import { createTcpListener, describeTlsFailure, RemoteBook, type TcpListener } from './tls-sockets.js';

/** Answers a request; a thrown FlotillaError reaches the requester with its code. */
export type RequestHandler = (from: Address, message: Message) => Message | Promise<Message>;

/** Most requests one inbound connection may have in its handler at once. */
export const inboundRequestsPerConnectionMax = 64;

/** What the TCP transport needs. */
export interface TcpTransportOptions {
  readonly config: TransportConfig;
  readonly codec: MessageCodec;
  readonly warn: WarnOnce;
  /**
   * Each one-way message, with the sender's advertised cluster address. Returns false
   * when nobody is listening (the message is counted as dropped).
   */
  readonly onMessage: (from: Address, message: Message) => boolean;
  /** Answers requests; without one, requests get an FLO_INTERNAL error back. */
  readonly onRequest: () => RequestHandler | undefined;
}

/** TCP counters. */
export interface TcpStats {
  /** Inbound connections (accepted by the listener) and their traffic. */
  readonly inbound: TrafficStats & { readonly open: number; readonly accepted: number; readonly refused: number; readonly evicted: number };
  /** Outbound (pooled) connections and their traffic. */
  readonly pool: PoolStats;
  readonly requests: RequestStats;
}

/** The TCP listener, pool and request bookkeeping. Create with `TcpTransport.listen`. */
export class TcpTransport {
  private readonly inbound = new Set<FramedConnection>();
  private readonly inboundCounters = new TrafficCounters();
  private readonly requests: RequestTracker;
  private readonly pool: ConnectionPool;
  private accepted = 0;
  private refused = 0;
  private evicted = 0;
  private stopped = false;
  private readonly tlsRemotes = new RemoteBook();
  private readonly pendingTls = new PendingTlsSockets();

  private readonly server: Server;

  private constructor(
    listener: TcpListener,
    private readonly options: TcpTransportOptions,
    /** The address peers use to reach this listener. */
    readonly advertised: Address,
  ) {
    this.server = listener.server;
    this.requests = new RequestTracker(options.config.pendingRequestsMax);
    this.pool = new ConnectionPool({
      config: options.config,
      hello: { address: advertised, nodeId: options.config.nodeId },
      warn: options.warn,
      onEnvelope: (connection, envelope) => this.onEnvelope(connection, envelope),
      onConnectionClosed: (connection, cause) => this.failPending(connection, cause),
    });
    const { server } = listener;
    server.on(listener.readyEvent, (socket: Socket) => this.onConnection(socket));
    if (options.config.tls !== undefined) {
      server.on('connection', (raw: Socket) => this.onRawTlsConnection(raw));
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.onTlsRefused(err, socket));
    }
    server.on('drop', (data?: { remoteAddress?: string }) => {
      this.refused++;
      this.inboundCounters.drop('inbound-limit');
      options.warn.warn(data?.remoteAddress ?? '?', 'inbound-limit', {}, 'refused inbound TCP connection: too many connections or handshakes');
    });
    server.on('error', (err) => options.warn.base.warn({ error: err.message }, 'TCP listener error'));
  }

  /**
   * Listen on `host:port` (`port` 0 picks one). Rejects with the raw socket error (e.g.
   * EADDRINUSE) so the caller can retry. `advertiseHost` defaults to `host`.
   */
  static listen(host: string, port: number, advertiseHost: string | undefined, options: TcpTransportOptions): Promise<TcpTransport> {
    const listener = createTcpListener(options.config);
    const { server } = listener;
    if (options.config.tls !== undefined) {
      // Admission (with eviction) happens on each raw socket; this only backstops sockets
      // already evicted but not yet closed, which Node still counts.
      server.maxConnections = 2 * options.config.inboundConnectionsMax;
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        const bound = server.address();
        const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
        resolve(new TcpTransport(listener, options, formatAddress(advertiseHost ?? host, boundPort)));
      });
    });
  }

  /** The bound `ip:port`. */
  address(): Address {
    const bound = this.server.address();
    if (typeof bound !== 'object' || bound === null) throw new FlotillaError('FLO_NODE_STOPPED', 'listener is not bound');
    return formatAddress(bound.address, bound.port);
  }

  /** Send a one-way message over the pooled connection to `to`. Resolves once written. */
  send(to: Address, message: Message): Promise<void> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    let payload: Uint8Array;
    try {
      payload = this.encode(message);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.pool.send(to, FrameKind.Message, 0, payload);
  }

  /**
   * Send `message` to `to` and wait for the reply the peer's request handler returns.
   * Rejects with FLO_TIMEOUT after `timeoutMs` (connect time included), the peer's error
   * code when its handler threw, FLO_CONNECTION_FAILED when the connection dropped,
   * FLO_QUEUE_FULL when too many requests are pending, FLO_NODE_STOPPED after close.
   */
  request(to: Address, message: Message, timeoutMs: number): Promise<Message> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    let payload: Uint8Array;
    let opened: { id: number; response: Promise<Message> };
    try {
      payload = this.encode(message);
      opened = this.requests.open(timeoutMs);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const { id, response } = opened;
    this.pool
      .acquire(to)
      .then((connection) => (this.requests.attach(id, connection) ? connection.send(FrameKind.Request, id, payload) : undefined))
      .catch((err: unknown) => this.requests.reject(id, err instanceof Error ? err : new Error(String(err))));
    return response;
  }

  /** Counters and gauges. */
  stats(): TcpStats {
    return {
      inbound: { ...this.inboundCounters.snapshot(), open: this.inbound.size, accepted: this.accepted, refused: this.refused, evicted: this.evicted },
      pool: this.pool.stats(),
      requests: this.requests.stats(),
    };
  }

  /**
   * Stop accepting, fail pending requests with FLO_NODE_STOPPED, flush and close every
   * connection; sockets still open after `closeTimeoutMs` are destroyed.
   */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.requests.rejectAll(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    const timeoutMs = this.options.config.closeTimeoutMs;
    await Promise.allSettled([this.pool.close(), ...[...this.inbound].map((c) => c.close(timeoutMs))]);
    await listenerClosed;
  }

  /**
   * Admit or refuse a new inbound socket, evicting an unauthenticated one when the limits
   * say so; true when it may stay. Open connections and sockets still in their TLS
   * handshake compete for the same slots.
   */
  private admit(socket: Socket): boolean {
    if (this.stopped) return false;
    const open = [...this.inbound, ...this.pendingTls.values()];
    const admission = admitInbound(open, socket.remoteAddress ?? '?', this.options.config);
    if (admission.admit && admission.evict !== undefined) {
      this.evicted++;
      if (!(admission.evict instanceof FramedConnection)) this.inboundCounters.drop('inbound-evicted');
      admission.evict.evict(admission.why === 'per-source' ? 'too many handshakes from its address' : 'the listener is full');
    }
    return admission.admit;
  }

  /** TLS only: a raw socket before its TLS handshake, admitted like any inbound connection. */
  private onRawTlsConnection(raw: Socket): void {
    this.tlsRemotes.note(raw);
    if (!this.admit(raw)) {
      this.refuse(raw);
      return;
    }
    this.pendingTls.add(raw);
  }

  private refuse(socket: Socket): void {
    this.refused++;
    this.inboundCounters.drop('inbound-limit');
    const remote = socket.remoteAddress ?? '?';
    this.options.warn.warn(remote, 'inbound-limit', { open: this.inbound.size, remotePort: socket.remotePort }, 'refused inbound TCP connection');
    socket.on('error', () => undefined);
    socket.destroy();
  }

  private onConnection(socket: Socket): void {
    const tls = this.options.config.tls !== undefined;
    // With TLS the raw socket was admitted before its handshake; it now leaves that list.
    if (tls) this.pendingTls.completed(socket.remoteAddress, socket.remotePort);
    const admitted = tls ? !this.stopped : this.admit(socket);
    if (!admitted) {
      this.refuse(socket);
      return;
    }
    this.accepted++;
    const { config } = this.options;
    const connection = new FramedConnection(socket, {
      role: 'inbound',
      authKey: config.authKey,
      authKeysAccepted: config.authKeysAccepted,
      frameBytesMax: config.frameBytesMax,
      writeBufferBytesMax: config.writeBufferBytesMax,
      readIdleTimeoutMs: config.readIdleTimeoutMs,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      counters: this.inboundCounters,
      warn: this.options.warn,
      onEnvelope: (c, envelope) => this.onEnvelope(c, envelope),
      onClose: (closed, cause) => {
        this.inbound.delete(closed);
        this.failPending(closed, cause);
      },
    });
    this.inbound.add(connection);
  }

  /**
   * A peer failed the TLS handshake: plaintext, no certificate, or one our CA did not
   * sign. Counted and logged once per peer IP and reason; the socket is already closed.
   */
  private onTlsRefused(err: Error, socket: TLSSocket): void {
    this.refused++;
    this.inboundCounters.drop('tls-handshake');
    const remote = this.tlsRemotes.remoteOf(socket);
    const reason = describeTlsFailure(err, socket.authorizationError);
    const code = socket.authorizationError ?? (err as NodeJS.ErrnoException).code ?? 'tls';
    this.options.warn.warn(remote.address, `tls:${String(code)}`, { remote: `${remote.address}:${remote.port}`, reason }, `refused TLS connection: ${reason}`);
  }

  private failPending(connection: FramedConnection, cause: FlotillaError | undefined): void {
    if (connection.pendingRequests === 0) return;
    this.requests.failConnection(connection, cause ?? new FlotillaError('FLO_CONNECTION_FAILED', 'connection closed', { peer: connection.label }));
  }

  private onEnvelope(connection: FramedConnection, envelope: Envelope): void {
    const from = connection.peerAddress ?? connection.remote;
    switch (envelope.kind) {
      case FrameKind.Message:
        this.onOneWay(connection, from, envelope.payload);
        return;
      case FrameKind.Request:
        this.onRequest(connection, from, envelope);
        return;
      case FrameKind.Response:
        this.onResponse(connection, envelope);
        return;
      case FrameKind.Error:
        this.onErrorResponse(connection, envelope);
        return;
      default:
        connection.dropFrame(new FlotillaError('FLO_DECODE_INVALID', 'unexpected frame kind'));
    }
  }

  /** Encode an outbound message, counting the ones too large to send. */
  private encode(message: Message): Uint8Array {
    try {
      return this.options.codec.encode(message);
    } catch (err) {
      if (isFlotillaError(err, 'FLO_ENCODE_OVERSIZED')) this.pool.countDrop('FLO_ENCODE_OVERSIZED');
      throw err;
    }
  }

  private decode(connection: FramedConnection, payload: Uint8Array): Message | undefined {
    try {
      return this.options.codec.decode(payload);
    } catch (err) {
      connection.dropFrame(err);
      return undefined;
    }
  }

  private onOneWay(connection: FramedConnection, from: Address, payload: Uint8Array): void {
    const message = this.decode(connection, payload);
    if (message === undefined) return;
    try {
      if (!this.options.onMessage(from, message)) {
        connection.dropFrame(new FlotillaError('FLO_INTERNAL', 'no message handler'), 'no-handler');
      }
    } catch (err) {
      connection.dropFrame(err, 'handler-error');
    }
  }

  private onResponse(connection: FramedConnection, envelope: Envelope): void {
    let message: Message;
    try {
      message = this.options.codec.decode(envelope.payload);
    } catch (err) {
      connection.dropFrame(err);
      this.requests.reject(envelope.correlationId, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (!this.requests.resolve(envelope.correlationId, message)) {
      connection.dropFrame(new FlotillaError('FLO_DECODE_INVALID', 'response to no pending request'), 'unmatched-response');
    }
  }

  private onErrorResponse(connection: FramedConnection, envelope: Envelope): void {
    let remote: FlotillaError;
    try {
      remote = decodeErrorPayload(envelope.payload);
    } catch (err) {
      connection.dropFrame(err);
      remote = new FlotillaError('FLO_INTERNAL', 'peer sent an unreadable error');
    }
    if (!this.requests.reject(envelope.correlationId, remote)) {
      connection.dropFrame(remote, 'unmatched-response');
    }
  }

  private onRequest(connection: FramedConnection, from: Address, envelope: Envelope): void {
    const id = envelope.correlationId;
    const message = this.decode(connection, envelope.payload);
    if (message === undefined) {
      void this.replyError(connection, id, new FlotillaError('FLO_DECODE_MALFORMED', 'request could not be decoded'));
      return;
    }
    const handler = this.options.onRequest();
    if (handler === undefined) {
      connection.dropFrame(new FlotillaError('FLO_INTERNAL', 'no request handler'), 'no-handler');
      void this.replyError(connection, id, new FlotillaError('FLO_INTERNAL', 'no request handler'));
      return;
    }
    if (connection.handlingRequests >= inboundRequestsPerConnectionMax) {
      connection.dropFrame(new FlotillaError('FLO_QUEUE_FULL', 'too many concurrent requests'), 'FLO_QUEUE_FULL');
      void this.replyError(connection, id, new FlotillaError('FLO_QUEUE_FULL', 'too many concurrent requests on this connection'));
      return;
    }
    connection.handlingRequests++;
    Promise.resolve()
      .then(() => handler(from, message))
      .then(
        (reply) => connection.send(FrameKind.Response, id, this.options.codec.encode(reply)),
        (err: unknown) => {
          if (!isFlotillaError(err)) connection.dropFrame(err, 'handler-error');
          return this.replyError(connection, id, err);
        },
      )
      .catch((err: unknown) => this.replyError(connection, id, err))
      .finally(() => connection.handlingRequests--);
  }

  /** Send an Error frame for request `id`; failures to send are only counted. */
  private replyError(connection: FramedConnection, id: number, err: unknown): Promise<void> {
    const code = isFlotillaError(err) ? err.code : 'FLO_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    return connection.send(FrameKind.Error, id, encodeErrorPayload(code, message)).catch(() => undefined);
  }
}
