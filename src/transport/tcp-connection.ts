/**
 * One framed TCP connection, either direction: splits the byte stream into frames with a
 * size limit, runs the handshake (authenticated with the frame key) before any frame
 * reaches the layer above, enforces the read idle timeout on inbound connections, bounds
 * the bytes queued for writing, and turns socket failures into counted, logged, typed
 * errors. Everything above this file sees envelopes, never raw bytes.
 */
import type { Socket } from 'node:net';
import type { Address, NodeId } from '../core/model.js';
import { assert, FlotillaError, isFlotillaError } from '../core/errors.js';
import type { DropReason } from './counters.js';
import { FrameDecoder } from '../protocol/index.js';
import { decodeEnvelope, encodeFrame, ENVELOPE_HEADER_BYTES_MAX, frameWireBytes, FrameKind, HANDSHAKE_FRAME_BYTES_MAX, type Envelope, type Hello } from './envelope.js';
import { channelBindingOf } from './frame-auth.js';
import { DialerHandshake, ListenerHandshake, type HandshakeFailure } from './tcp-handshake.js';
import { toTransportError } from './socket-errors.js';
import { handshakeFramesRead, HANDSHAKE_REFUSAL_FLUSH_MS, type ConnectionOptions } from './tcp-connection-options.js';
import { describeTlsFailure, isTlsError } from './tls-sockets.js';
import { isTlsSocket } from './tls-module.js';

/** A framed connection over one socket. */
export class FramedConnection {
  /** `ip:port` of the socket's remote end (for logs; ephemeral for inbound peers). */
  readonly remote: string;
  /** IP of the socket's remote end, without the port. */
  readonly remoteIp: string;
  /** When the socket was accepted or dialed, from `Date.now()`. */
  readonly acceptedAt = Date.now();
  /** Peer's advertised cluster address: dialed (outbound) or from its Hello once the handshake passed (inbound). */
  peerAddress: Address | undefined;
  /** Peer's node id from its Hello once the handshake passed (inbound), for logs. */
  peerNodeId: NodeId | undefined;
  /** Time of the last frame read or written, from `Date.now()`. */
  lastActivityAt = Date.now();
  /** Requests sent on this connection still waiting for their response. */
  pendingRequests = 0;
  /** Requests received on this connection whose handler has not answered yet. */
  handlingRequests = 0;
  /** Frames read on this connection so far (the handshake included). */
  framesRead = 0;
  /** Whether the socket is a (verified) TLS socket. */
  readonly tls: boolean;

  private readonly splitter: FrameDecoder;
  private readIdleTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** False until the handshake completed: until then no frame reaches `onEnvelope`. */
  private opened = false;
  private inboundHandshake: ListenerHandshake | undefined;
  private outboundHandshake: { readonly handshake: DialerHandshake; readonly resolve: () => void; readonly reject: (err: FlotillaError) => void } | undefined;
  private closeCause: FlotillaError | undefined;
  private isClosed = false;
  private closedLocally = false;
  private readonly closedPromise: Promise<void>;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
    peerAddress?: Address,
  ) {
    this.remoteIp = socket.remoteAddress ?? '?';
    this.remote = `${this.remoteIp}:${socket.remotePort ?? 0}`;
    this.peerAddress = peerAddress;
    this.tls = isTlsSocket(socket);
    this.splitter = new FrameDecoder(options.frameBytesMax + ENVELOPE_HEADER_BYTES_MAX, {
      leadingFrames: handshakeFramesRead(options),
      leadingFrameBytesMax: HANDSHAKE_FRAME_BYTES_MAX,
    });
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onSocketError(err));
    socket.once('close', () => this.onSocketClose());
    if (options.role === 'inbound') {
      this.inboundHandshake = new ListenerHandshake(options.authKey, () => channelBindingOf(socket), options.authKeysAccepted);
      this.handshakeTimer = setTimeout(() => this.abort('handshake-timeout', 'no handshake in time'), options.handshakeTimeoutMs);
      this.handshakeTimer.unref();
      this.readIdleTimer = setTimeout(() => this.abort('read-idle-timeout', 'read idle timeout'), options.readIdleTimeoutMs);
      this.readIdleTimer.unref();
    }
  }

  /**
   * Outbound: send the Hello and, with a frame key, wait for the listener's Challenge and
   * answer it. Resolves once frames may flow both ways; rejects with FLO_AUTH_FAILED when
   * the listener does not prove the cluster secret (or refuses ours), FLO_PROTOCOL_VERSION
   * when it speaks another handshake version, or the error the connection closed with.
   */
  open(hello: Hello): Promise<void> {
    assert(this.options.role === 'outbound' && !this.opened && this.outboundHandshake === undefined, 'open() is called once, on an outbound connection');
    const handshake = new DialerHandshake(this.options.authKey, hello, this.label, () => channelBindingOf(this.socket));
    return new Promise((resolve, reject) => {
      this.send(handshake.hello.kind, 0, handshake.hello.payload).catch(() => undefined);
      if (handshake.opensAtOnce) {
        this.opened = true;
        resolve();
        return;
      }
      if (this.isClosed) {
        reject(this.closeCause ?? new FlotillaError('FLO_CONNECTION_FAILED', 'connection closed before the handshake', { peer: this.label }));
        return;
      }
      this.outboundHandshake = { handshake, resolve, reject };
    });
  }

  /** True once the handshake completed: the peer proved the cluster secret (when there is one). */
  get authenticated(): boolean {
    return this.opened;
  }

  /**
   * Close an unauthenticated connection to make room for a newer one; counted as
   * `inbound-evicted` and logged once per source address.
   */
  evict(why: string): void {
    this.abort('inbound-evicted', `evicted before completing the handshake (${why})`);
  }

  /** True once the socket is closing or closed; sends then fail. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True when the peer closed the connection (not our `close`/`destroy`). */
  get closedByPeer(): boolean {
    return this.isClosed && !this.closedLocally;
  }

  /** Bytes queued in user space, not yet handed to the kernel. */
  get writableBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Queue one frame. Resolves when it has been handed to the kernel; rejects with
   * FLO_QUEUE_FULL when the write buffer is over its bound (a slow reader),
   * FLO_ENCODE_OVERSIZED when the frame exceeds the limit, FLO_CONNECTION_FAILED when
   * the connection is gone.
   */
  send(kind: FrameKind, correlationId: number, payload: Uint8Array): Promise<void> {
    if (this.isClosed) {
      return Promise.reject(this.closeCause ?? new FlotillaError('FLO_CONNECTION_FAILED', 'connection closed', { peer: this.label }));
    }
    if (payload.length > this.options.frameBytesMax) {
      this.options.counters.drop('FLO_ENCODE_OVERSIZED');
      return Promise.reject(
        new FlotillaError('FLO_ENCODE_OVERSIZED', `frame of ${payload.length} bytes exceeds ${this.options.frameBytesMax}`, {
          bytes: payload.length,
        }),
      );
    }
    const wireBytes = frameWireBytes(kind, payload.length);
    if (this.socket.writableLength + wireBytes > this.options.writeBufferBytesMax) {
      this.options.counters.drop('FLO_QUEUE_FULL');
      this.options.warn.warn(this.logSource, 'FLO_QUEUE_FULL', { queuedBytes: this.socket.writableLength }, 'peer reads too slowly; send refused');
      return Promise.reject(
        new FlotillaError('FLO_QUEUE_FULL', 'connection write buffer is full', { peer: this.label, queuedBytes: this.socket.writableLength }),
      );
    }
    const frame = encodeFrame(kind, correlationId, payload);
    this.options.counters.framesOut++;
    this.options.counters.bytesOut += frame.length;
    this.lastActivityAt = Date.now();
    if (!this.corked) {
      // Coalesce the frames queued in this tick into one write syscall.
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    return new Promise((resolve, reject) => {
      this.socket.write(frame, (err) => {
        if (err) reject(this.closeCause ?? toTransportError(err, this.label));
        else resolve();
      });
    });
  }

  /** Close after flushing queued frames; destroys the socket after `timeoutMs`. */
  close(timeoutMs: number): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.closedLocally = true;
      this.clearTimers();
      this.socket.end();
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      timer.unref();
      void this.closedPromise.then(() => clearTimeout(timer));
    }
    return this.closedPromise;
  }

  /** Close at once, dropping queued frames; pending sends fail with `cause`. */
  destroy(cause: FlotillaError): void {
    if (this.closeCause === undefined) this.closeCause = cause;
    if (!this.isClosed) this.closedLocally = true;
    this.isClosed = true;
    this.clearTimers();
    this.socket.destroy();
  }

  /** Identity for errors: the advertised address once known, else the socket's remote end. */
  get label(): string {
    return this.peerAddress ?? this.remote;
  }

  /**
   * Warn-once key: the advertised address once known, else the remote IP without its
   * port, so a client reconnecting to send garbage logs once, not once per connection.
   */
  private get logSource(): string {
    return this.peerAddress ?? this.remoteIp;
  }

  private abort(reason: DropReason, message: string): void {
    if (this.isClosed) return;
    this.options.counters.drop(reason);
    this.options.warn.warn(this.logSource, reason, { remote: this.remote }, `closing connection: ${message}`);
    this.destroy(new FlotillaError('FLO_CONNECTION_FAILED', message, { peer: this.label }));
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed && this.closeCause !== undefined) return;
    this.options.counters.bytesIn += chunk.length;
    this.readIdleTimer?.refresh();
    let bodies: Uint8Array[];
    try {
      bodies = this.splitter.push(chunk);
    } catch (err) {
      const code = isFlotillaError(err) ? err.code : 'FLO_DECODE_MALFORMED';
      this.abort(code, `unrecoverable framing error: ${String(err)}`);
      return;
    }
    for (const body of bodies) {
      if (this.closeCause !== undefined) return;
      this.options.counters.framesIn++;
      this.framesRead++;
      this.lastActivityAt = Date.now();
      this.onBody(body);
    }
  }

  private onBody(body: Uint8Array): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(body);
    } catch (err) {
      this.dropFrame(err);
      return;
    }
    if (!this.opened) {
      this.onHandshakeFrame(envelope);
      return;
    }
    if (envelope.kind === FrameKind.Hello || envelope.kind === FrameKind.Challenge || envelope.kind === FrameKind.Proof || envelope.kind === FrameKind.Confirm) {
      this.dropFrame(new FlotillaError('FLO_DECODE_INVALID', 'unexpected handshake frame'));
      return;
    }
    this.options.onEnvelope(this, envelope);
  }

  private onHandshakeFrame(envelope: Envelope): void {
    const step = this.inboundHandshake?.onFrame(envelope) ?? this.outboundHandshake?.handshake.onFrame(envelope);
    if (step === undefined) {
      // An outbound connection whose Hello is not sent yet: the peer spoke first.
      this.abort('handshake-missing', 'peer sent a frame before our handshake');
      return;
    }
    if (step.reply !== undefined) this.send(step.reply.kind, 0, step.reply.payload).catch(() => undefined);
    if (step.result === 'pending') return;
    if (step.result === 'open') this.onOpen();
    else this.failHandshake(step.result, step.reply !== undefined);
  }

  private onOpen(): void {
    this.opened = true;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const hello = this.inboundHandshake?.hello;
    if (hello !== undefined) {
      this.peerAddress = hello.address;
      this.peerNodeId = hello.nodeId;
    }
    this.inboundHandshake = undefined;
    const waiting = this.outboundHandshake;
    this.outboundHandshake = undefined;
    waiting?.resolve();
  }

  /**
   * Count and log (once per peer and reason) a refused handshake, then close: after the
   * reply frame is flushed when there is one, at once otherwise. The log names the
   * address the peer claimed, never trusted as its identity.
   */
  private failHandshake(failure: HandshakeFailure, flushReply: boolean): void {
    const claimed = this.inboundHandshake?.hello;
    this.options.counters.drop(failure.reason);
    this.options.warn.warn(
      this.logSource,
      failure.reason,
      { remote: this.remote, claimedAddress: claimed?.address, claimedNodeId: claimed?.nodeId, error: failure.error.message },
      `closing connection: handshake failed: ${failure.error.message}`,
    );
    const waiting = this.outboundHandshake;
    this.outboundHandshake = undefined;
    if (flushReply) {
      if (this.closeCause === undefined) this.closeCause = failure.error;
      void this.close(HANDSHAKE_REFUSAL_FLUSH_MS);
    } else {
      this.destroy(failure.error);
    }
    waiting?.reject(failure.error);
  }

  /**
   * Count and log (once per peer and reason) a frame that could not be used; the stream
   * itself is still in sync. `reason` defaults to the error's code.
   */
  dropFrame(err: unknown, reason?: DropReason): void {
    const code = reason ?? (isFlotillaError(err) ? err.code : 'FLO_DECODE_MALFORMED');
    this.options.counters.drop(code);
    this.options.warn.warn(this.logSource, code, { remote: this.remote, nodeId: this.peerNodeId, error: String(err) }, 'dropped TCP frame');
  }

  private onSocketError(err: Error): void {
    const mapped = toTransportError(err, this.label);
    if (this.closeCause === undefined) this.closeCause = mapped;
    if (this.tls && isTlsError(err)) {
      this.options.counters.drop('tls-handshake');
      const reason = describeTlsFailure(err);
      this.options.warn.warn(this.logSource, `tls:${(err as NodeJS.ErrnoException).code ?? 'error'}`, { remote: this.remote, reason }, `TLS connection failed: ${reason}`);
      return;
    }
    this.options.counters.drop('socket-error');
    this.options.warn.warn(this.logSource, `socket:${(err as NodeJS.ErrnoException).code ?? 'error'}`, { remote: this.remote, error: err.message }, 'TCP connection error');
  }

  private onSocketClose(): void {
    this.isClosed = true;
    this.clearTimers();
    const waiting = this.outboundHandshake;
    this.outboundHandshake = undefined;
    waiting?.reject(this.closeCause ?? new FlotillaError('FLO_CONNECTION_FAILED', `${this.label} closed the connection during the handshake`, { peer: this.label }));
    if (this.splitter.bufferedBytes > 0) {
      this.options.counters.drop('FLO_DECODE_TRUNCATED');
      this.options.warn.warn(this.logSource, 'FLO_DECODE_TRUNCATED', { remote: this.remote, pendingBytes: this.splitter.bufferedBytes }, 'connection closed mid-frame');
    }
    this.options.onClose(this, this.closeCause);
  }

  private clearTimers(): void {
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.readIdleTimer);
    this.handshakeTimer = undefined;
    this.readIdleTimer = undefined;
  }
}
