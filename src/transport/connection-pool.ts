/**
 * Outbound TCP connections, one per peer, reused across sends. The pool caps how many are
 * open (evicting the least recently used idle one when full), closes connections that sat
 * idle, bounds connect time, discards connections that failed, and counts all of it.
 */
import type { Socket } from 'node:net';
import type { Address } from '../core/model.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { TransportConfig } from './config.js';
import { TrafficCounters, type DropReason, type TrafficStats } from './counters.js';
import type { WarnOnce } from './logger.js';
import { parseAddress } from './address.js';
import { FrameKind, type Envelope, type Hello } from './envelope.js';
import { FramedConnection } from './tcp-connection.js';
import { toTransportError } from './socket-errors.js';
import { describeTlsFailure, dialTcp, readyEventOf } from './tls-sockets.js';
import { isTlsSocket } from './tls-module.js';

/** Settings the pool reads from the transport configuration. */
export type PoolConfig = Pick<
  TransportConfig,
  'poolConnectionsMax' | 'idleTimeoutMs' | 'connectTimeoutMs' | 'frameBytesMax' | 'writeBufferBytesMax' | 'closeTimeoutMs'
> &
  Partial<Pick<TransportConfig, 'tls' | 'authKey'>>;

/** What the pool needs besides its configuration. */
export interface PoolOptions {
  readonly config: PoolConfig;
  /**
   * Sent as the first frame of every connection, so peers know our listener address; with
   * `config.authKey` it opens the challenge-response that proves the cluster secret.
   */
  readonly hello: Hello;
  readonly warn: WarnOnce;
  /** Frames arriving on pooled connections (responses to our requests, mostly). */
  readonly onEnvelope: (connection: FramedConnection, envelope: Envelope) => void;
  /** A pooled connection closed; pending requests on it can be failed at once. */
  readonly onConnectionClosed?: (connection: FramedConnection, cause: FlotillaError | undefined) => void;
  /**
   * Opens the socket; defaults to `net.connect`, or `tls.connect` with the configured
   * material. Tests inject sockets that never connect.
   */
  readonly dial?: (host: string, port: number) => Socket;
}

/** Pool counters, plus traffic over pooled connections. */
export interface PoolStats extends TrafficStats {
  /** Connections established and not yet closed. */
  readonly open: number;
  /** Open connections with no pending request and nothing queued to write. */
  readonly idle: number;
  /** Connections being established. */
  readonly connecting: number;
  readonly created: number;
  readonly closed: number;
  /** Connect attempts that failed (refused, unreachable, timed out). */
  readonly connectFailures: number;
  /** Of those, the ones that ran out of `connectTimeoutMs`. */
  readonly connectTimeouts: number;
  /** Idle connections closed to make room under `poolConnectionsMax`. */
  readonly evicted: number;
  /** Connections closed after `idleTimeoutMs` without traffic. */
  readonly idleClosed: number;
}

interface Dialing {
  readonly promise: Promise<FramedConnection>;
  readonly socket: Socket;
}

/** The outbound connection pool. */
export class ConnectionPool {
  /** Open connections by peer address, least recently used first. */
  private readonly connections = new Map<Address, FramedConnection>();
  private readonly dialing = new Map<Address, Dialing>();
  private readonly idleTimers = new Map<FramedConnection, NodeJS.Timeout>();
  private readonly counters = new TrafficCounters();
  private stopped = false;
  private created = 0;
  private closedCount = 0;
  private connectFailures = 0;
  private connectTimeouts = 0;
  private evicted = 0;
  private idleClosed = 0;

  constructor(private readonly options: PoolOptions) {}

  /** Send one frame to `address` over its pooled connection, connecting first if needed. */
  send(address: Address, kind: FrameKind, correlationId: number, payload: Uint8Array): Promise<void> {
    const existing = this.lookup(address);
    if (existing !== undefined) return existing.send(kind, correlationId, payload);
    return this.acquire(address).then((connection) => connection.send(kind, correlationId, payload));
  }

  /**
   * The open connection to `address`, established (and authenticated) if needed. Rejects
   * with FLO_TIMEOUT (connect and handshake over `connectTimeoutMs`), FLO_CONNECTION_FAILED
   * (refused, unreachable), FLO_AUTH_FAILED (the peer does not prove the cluster secret, or
   * refuses ours), FLO_QUEUE_FULL (pool full of busy connections) or FLO_NODE_STOPPED
   * (after `close()`).
   */
  acquire(address: Address): Promise<FramedConnection> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    const existing = this.lookup(address);
    if (existing !== undefined) return Promise.resolve(existing);
    const pending = this.dialing.get(address);
    if (pending !== undefined) return pending.promise;
    try {
      this.makeRoom();
      return this.dial(address);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Count an outbound message refused before it reached a connection (e.g. too large to encode). */
  countDrop(reason: DropReason): void {
    this.counters.drop(reason);
  }

  /** Counters and gauges. */
  stats(): PoolStats {
    let idle = 0;
    for (const connection of this.connections.values()) if (isIdle(connection)) idle++;
    return {
      ...this.counters.snapshot(),
      open: this.connections.size,
      idle,
      connecting: this.dialing.size,
      created: this.created,
      closed: this.closedCount,
      connectFailures: this.connectFailures,
      connectTimeouts: this.connectTimeouts,
      evicted: this.evicted,
      idleClosed: this.idleClosed,
    };
  }

  /** Stop: abort connects, flush and close every connection within `closeTimeoutMs`. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const dialing of this.dialing.values()) dialing.socket.destroy();
    const closing = [...this.connections.values()].map((c) => c.close(this.options.config.closeTimeoutMs));
    await Promise.allSettled([...closing, ...[...this.dialing.values()].map((d) => d.promise)]);
  }

  /** The open connection to `address`, marked most recently used; undefined if none. */
  private lookup(address: Address): FramedConnection | undefined {
    const connection = this.connections.get(address);
    if (connection === undefined || connection.closed) return undefined;
    this.connections.delete(address);
    this.connections.set(address, connection);
    return connection;
  }

  /** Evict the least recently used idle connection when at the cap; throw when none is idle. */
  private makeRoom(): void {
    const max = this.options.config.poolConnectionsMax;
    if (this.connections.size + this.dialing.size < max) return;
    for (const [address, connection] of this.connections) {
      if (!isIdle(connection)) continue;
      this.connections.delete(address);
      this.evicted++;
      void connection.close(this.options.config.closeTimeoutMs);
      return;
    }
    throw new FlotillaError('FLO_QUEUE_FULL', `connection pool is full (${max} busy connections)`, { poolConnectionsMax: max });
  }

  private dial(address: Address): Promise<FramedConnection> {
    const { host, port } = parseAddress(address);
    const socket = this.options.dial === undefined ? dialTcp(this.options.config, host, port) : this.options.dial(host, port);
    const tls = isTlsSocket(socket);
    let tcpConnected = false;
    let ready = false;
    if (tls) socket.once('connect', () => (tcpConnected = true));
    const promise = new Promise<FramedConnection>((resolve, reject) => {
      let settled = false;
      /** `closing`: the connection already closes the socket itself, after flushing its last frame. */
      const fail = (err: FlotillaError, closing = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!closing) socket.destroy();
        this.dialing.delete(address);
        this.countConnectFailure(address, err);
        reject(err);
      };
      const onError = (err: Error): void => {
        if (this.stopped) fail(stoppedError());
        else if (tls && tcpConnected && !isFlotillaError(err)) fail(tlsFailure(address, err));
        else fail(toTransportError(err, address));
      };
      const timer = setTimeout(() => {
        fail(new FlotillaError('FLO_TIMEOUT', `connect to ${address} (handshake included) took over ${this.options.config.connectTimeoutMs} ms`, { peer: address }));
      }, this.options.config.connectTimeoutMs);
      socket.once('error', onError);
      socket.once('close', () => {
        if (!ready && this.dialing.get(address)?.socket === socket) onError(stoppedError());
      });
      socket.once(readyEventOf(socket), () => {
        if (settled) return;
        ready = true;
        socket.off('error', onError);
        if (this.stopped) {
          fail(stoppedError());
          return;
        }
        const connection = this.adopt(address, socket);
        connection.open(this.options.hello).then(
          () => {
            if (settled) return; // the connect timer fired first and destroyed the socket
            settled = true;
            clearTimeout(timer);
            this.dialing.delete(address);
            this.connections.set(address, connection);
            this.armIdleTimer(connection, this.options.config.idleTimeoutMs);
            resolve(connection);
          },
          (err: unknown) => fail(this.stopped ? stoppedError() : toTransportError(err, address), true),
        );
      });
    });
    this.dialing.set(address, { promise, socket });
    return promise;
  }

  /** Count a failed connect; refused handshakes were already counted and logged by the connection. */
  private countConnectFailure(address: Address, err: FlotillaError): void {
    if (err.code === 'FLO_NODE_STOPPED') return;
    this.connectFailures++;
    if (err.code === 'FLO_TIMEOUT') this.connectTimeouts++;
    if (err.code === 'FLO_AUTH_FAILED' || err.code === 'FLO_PROTOCOL_VERSION') return;
    if (err.details?.tls === true) this.counters.drop('tls-handshake');
    const what = err.details?.tls === true ? 'TLS handshake failed' : 'TCP connect failed';
    this.options.warn.warn(address, `connect:${err.code}`, { error: err.message }, what);
  }

  /** Wrap a connected socket; it joins the pool once its handshake (`open`) passed. */
  private adopt(address: Address, socket: Socket): FramedConnection {
    const connection = new FramedConnection(
      socket,
      {
        role: 'outbound',
        authKey: this.options.config.authKey,
        frameBytesMax: this.options.config.frameBytesMax,
        writeBufferBytesMax: this.options.config.writeBufferBytesMax,
        readIdleTimeoutMs: 0,
        handshakeTimeoutMs: 0,
        counters: this.counters,
        warn: this.options.warn,
        onEnvelope: this.options.onEnvelope,
        onClose: (closed, cause) => this.onClosed(address, closed, cause),
      },
      address,
    );
    this.created++;
    return connection;
  }

  private armIdleTimer(connection: FramedConnection, delayMs: number): void {
    const timer = setTimeout(() => this.onIdleTimer(connection), delayMs);
    timer.unref();
    this.idleTimers.set(connection, timer);
  }

  /** Close a connection idle for `idleTimeoutMs`; otherwise re-arm for the remaining time. */
  private onIdleTimer(connection: FramedConnection): void {
    this.idleTimers.delete(connection);
    if (connection.closed) return;
    const idleForMs = Date.now() - connection.lastActivityAt;
    const idleTimeoutMs = this.options.config.idleTimeoutMs;
    if (idleForMs < idleTimeoutMs || connection.pendingRequests > 0) {
      this.armIdleTimer(connection, Math.max(1, idleTimeoutMs - idleForMs));
      return;
    }
    this.idleClosed++;
    if (connection.writableBytes > 0) {
      // Nothing moved for a whole idle period yet bytes are still queued: the peer stopped reading.
      connection.destroy(new FlotillaError('FLO_CONNECTION_FAILED', 'peer stopped reading', { peer: connection.label }));
    } else {
      void connection.close(this.options.config.closeTimeoutMs);
    }
  }

  private onClosed(address: Address, connection: FramedConnection, cause: FlotillaError | undefined): void {
    clearTimeout(this.idleTimers.get(connection));
    this.idleTimers.delete(connection);
    if (this.connections.get(address) === connection) this.connections.delete(address);
    this.closedCount++;
    if (connection.tls && cause === undefined && connection.framesRead === 0 && connection.closedByPeer && !this.stopped) {
      // Under TLS 1.3 a server refuses our certificate after our handshake completed: we
      // only see the connection close before any answer.
      this.options.warn.warn(address, 'tls-closed-early', {}, 'peer closed the TLS connection before any frame: it may not trust our certificate (check the CA on both sides)');
    }
    this.options.onConnectionClosed?.(connection, cause);
  }
}

/** A handshake that failed after TCP connected: TLS refused it (or the peer speaks plain TCP). */
function tlsFailure(address: Address, err: Error): FlotillaError {
  const cause = (err as NodeJS.ErrnoException).code ?? 'unknown';
  return new FlotillaError('FLO_CONNECTION_FAILED', `TLS handshake with ${address} failed: ${describeTlsFailure(err)}`, { peer: address, cause, tls: true });
}

function stoppedError(): FlotillaError {
  return new FlotillaError('FLO_NODE_STOPPED', 'transport is closed');
}

function isIdle(connection: FramedConnection): boolean {
  return connection.pendingRequests === 0 && connection.writableBytes === 0;
}
