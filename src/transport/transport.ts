/**
 * `ClusterTransport`: the one object the node driver holds for inter-node traffic. It
 * binds UDP and TCP on one address, routes each `Transmit` to its channel, hands every
 * valid inbound message to one handler, answers requests, and shuts down within a bound.
 */
import type { Address } from '../core/model.js';
import type { Channel, Transmit } from '../core/machine.js';
import { FlotillaError } from '../core/errors.js';
import type { Message } from '../protocol/messages.js';
import type { MessageCodec } from './message-codec.js';
import { resolveTransportConfig, type TransportConfig } from './config.js';
import { silentLogger, WarnOnce, type TransportLogger, type WarnStats } from './logger.js';
import { createProtocolCodec } from './message-codec.js';
import { TcpTransport, type RequestHandler, type TcpStats } from './tcp-transport.js';
import { UdpTransport, type UdpStats } from './udp-transport.js';
import { DATAGRAM_TAG_BYTES, DatagramAuthenticator } from './frame-auth.js';

/** Receives every valid inbound message; `from` is the sender's cluster address. */
export type MessageHandler = (from: Address, message: Message, channel: Channel) => void;

/** Collaborators, all optional. */
export interface TransportDeps {
  /**
   * Message codec for both channels; defaults to the protocol layer's validating codec
   * with the datagram budget as the UDP frame limit and `frameBytesMax` for TCP.
   */
  readonly codec?: MessageCodec;
  /** Structured logger (pino fits); defaults to silent. */
  readonly logger?: TransportLogger;
}

/** Everything the transport counts. */
export interface TransportStats {
  readonly udp: UdpStats;
  readonly tcp: TcpStats;
  /** Warning lines about peers written, and held back (repeats, or over the overall budget). */
  readonly warnings: WarnStats;
}

type Lifecycle = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** Real-socket transport for one node: UDP datagrams and framed TCP on one address. */
export class ClusterTransport {
  /** The resolved configuration (defaults filled in, validated). */
  readonly config: TransportConfig;
  /**
   * Largest encoded message one UDP datagram carries: `udpDatagramBudgetBytes`, less the
   * auth tag when `authKey` is set. This is what the gossip queue may fill.
   */
  readonly udpMessageBytesMax: number;
  private readonly datagramAuth: DatagramAuthenticator | undefined;
  private readonly udpCodec: MessageCodec;
  private readonly tcpCodec: MessageCodec;
  private readonly warn: WarnOnce;
  private state: Lifecycle = 'new';
  private udp: UdpTransport | undefined;
  private tcp: TcpTransport | undefined;
  private messageHandler: MessageHandler | undefined;
  private requestHandler: RequestHandler | undefined;
  private closing: Promise<void> | undefined;

  /** Throws FLO_CONFIG_INVALID when the configuration breaks a rule. */
  constructor(config: Partial<TransportConfig> = {}, deps: TransportDeps = {}) {
    this.config = resolveTransportConfig(config);
    this.datagramAuth = this.config.authKey === undefined ? undefined : new DatagramAuthenticator(this.config.authKey, this.config.authKeysAccepted);
    this.udpMessageBytesMax = this.config.udpDatagramBudgetBytes - (this.datagramAuth === undefined ? 0 : DATAGRAM_TAG_BYTES);
    this.udpCodec = deps.codec ?? createProtocolCodec({ frameBytesMax: this.udpMessageBytesMax });
    this.tcpCodec = deps.codec ?? createProtocolCodec({ frameBytesMax: this.config.frameBytesMax });
    this.warn = new WarnOnce(deps.logger ?? silentLogger);
  }

  /**
   * Bind the TCP listener and the UDP socket on the same host and port. With port 0 the
   * OS picks a TCP port and UDP binds the same number; if that one is taken for UDP,
   * another is tried, up to `bindAttemptsMax`. Resolves with `address()`.
   */
  async start(): Promise<Address> {
    if (this.state !== 'new') throw new FlotillaError('FLO_INVALID_ARGUMENT', `start() called when ${this.state}`);
    this.state = 'starting';
    const { host, port, advertiseHost, bindAttemptsMax } = this.config;
    let lastError: unknown;
    for (let attempt = 0; attempt < bindAttemptsMax; attempt++) {
      let tcp: TcpTransport;
      try {
        tcp = await TcpTransport.listen(host, port, advertiseHost, {
          config: this.config,
          codec: this.tcpCodec,
          warn: this.warn,
          onMessage: (from, message) => this.deliver(from, message, 'tcp'),
          onRequest: () => this.requestHandler,
        });
      } catch (err) {
        throw this.bindError(err, port);
      }
      const boundPort = Number(tcp.address().split(':').pop());
      try {
        this.udp = await UdpTransport.bind(host, boundPort, {
          config: this.config,
          codec: this.udpCodec,
          warn: this.warn,
          auth: this.datagramAuth,
          onMessage: (from, message) => this.deliver(from, message, 'udp'),
        });
        this.tcp = tcp;
        break;
      } catch (err) {
        lastError = err;
        await tcp.close();
        if (port !== 0 || errnoOf(err) !== 'EADDRINUSE') throw this.bindError(err, boundPort);
      }
    }
    if (this.tcp === undefined) {
      this.state = 'closed';
      throw this.bindError(lastError, port);
    }
    this.state = 'running';
    return this.address();
  }

  /** The cluster address peers use for this node (`advertiseHost` or the bound host, and the bound port). */
  address(): Address {
    return this.running().tcp.advertised;
  }

  /**
   * Send one message on its channel. Resolves once handed to the OS (UDP) or written to
   * the socket (TCP); it does not mean the peer received it. Typed rejections:
   * FLO_ENCODE_OVERSIZED, FLO_QUEUE_FULL, FLO_TIMEOUT (connect), FLO_CONNECTION_FAILED,
   * FLO_NODE_STOPPED.
   */
  send(transmit: Transmit<Message>): Promise<void> {
    if (this.state !== 'running') return Promise.reject(this.notRunning());
    const { udp, tcp } = this.running();
    return transmit.channel === 'udp' ? udp.send(transmit.to, transmit.message) : tcp.send(transmit.to, transmit.message);
  }

  /**
   * Request/response over TCP: resolves with the reply of the peer's `onRequest` handler.
   * `timeoutMs` (default `requestTimeoutMs`) includes connecting.
   */
  request(to: Address, message: Message, timeoutMs: number = this.config.requestTimeoutMs): Promise<Message> {
    if (this.state !== 'running') return Promise.reject(this.notRunning());
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new FlotillaError('FLO_INVALID_ARGUMENT', 'timeoutMs must be positive', { timeoutMs }));
    }
    return this.running().tcp.request(to, message, timeoutMs);
  }

  /** Set the handler of inbound messages (one at a time); returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void {
    this.messageHandler = handler;
    return () => {
      if (this.messageHandler === handler) this.messageHandler = undefined;
    };
  }

  /** Set the handler that answers requests (one at a time); returns a function that removes it. */
  onRequest(handler: RequestHandler): () => void {
    this.requestHandler = handler;
    return () => {
      if (this.requestHandler === handler) this.requestHandler = undefined;
    };
  }

  /** Counters and gauges of both channels, the pool and requests. */
  stats(): TransportStats {
    const { udp, tcp } = this.running();
    return { udp: udp.stats(), tcp: tcp.stats(), warnings: this.warn.stats() };
  }

  /**
   * Graceful shutdown: stop accepting, fail pending requests with FLO_NODE_STOPPED, flush
   * queued frames and close every socket. Sockets still open after `closeTimeoutMs` are
   * destroyed. Safe to call more than once.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = 'closing';
    this.closing = Promise.allSettled([this.udp?.close(), this.tcp?.close()]).then(() => {
      this.state = 'closed';
    });
    return this.closing;
  }

  private deliver(from: Address, message: Message, channel: Channel): boolean {
    const handler = this.messageHandler;
    if (handler === undefined) return false;
    handler(from, message, channel);
    return true;
  }

  private running(): { udp: UdpTransport; tcp: TcpTransport } {
    if (this.udp === undefined || this.tcp === undefined) throw this.notRunning();
    return { udp: this.udp, tcp: this.tcp };
  }

  private notRunning(): FlotillaError {
    return new FlotillaError('FLO_NODE_STOPPED', `transport is ${this.state === 'new' ? 'not started' : this.state}`);
  }

  private bindError(err: unknown, port: number): FlotillaError {
    this.state = 'closed';
    const cause = errnoOf(err) ?? String(err);
    return new FlotillaError('FLO_CONFIG_INVALID', `cannot bind ${this.config.host}:${port}: ${cause}`, { host: this.config.host, port, cause });
  }
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
}
