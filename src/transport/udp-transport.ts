/**
 * The UDP side of the transport: one socket, one message per datagram, for SWIM probes
 * and gossip. Outbound datagrams over the budget are refused; with a frame key each one
 * carries an HMAC tag. Inbound ones are size-checked, their tag verified before anything
 * is decoded, then decoded; any that fail are counted, logged once per source address
 * and code (not per port: a sender rotating its source port must not get a line per
 * datagram), and dropped.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Address } from '../core/model.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Message } from '../protocol/messages.js';
import type { MessageCodec } from './message-codec.js';
import type { TransportConfig } from './config.js';
import { TrafficCounters, type DropReason } from './counters.js';
import type { WarnOnce } from './logger.js';
import { formatAddress, parseAddress } from './address.js';
import { toTransportError } from './socket-errors.js';
import { DATAGRAM_TAG_BYTES, type DatagramAuthenticator } from './frame-auth.js';

/** What the UDP transport needs. */
export interface UdpTransportOptions {
  readonly config: Pick<TransportConfig, 'udpDatagramBudgetBytes' | 'udpSendsInFlightMax'>;
  readonly codec: MessageCodec;
  readonly warn: WarnOnce;
  /** Tags outbound and checks inbound datagrams; undefined sends and accepts them bare (unit tests only). */
  readonly auth?: DatagramAuthenticator | undefined;
  /**
   * Each valid inbound message, with the sender's `ip:port` (its cluster address).
   * Returns false when nobody is listening (the message is counted as dropped).
   */
  readonly onMessage: (from: Address, message: Message) => boolean;
}

/** UDP counters. */
export interface UdpStats {
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Sends handed to the OS and not yet confirmed. */
  readonly sendsInFlight: number;
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
}

/** One bound UDP socket. Create with `UdpTransport.bind`. */
export class UdpTransport {
  private readonly counters = new TrafficCounters();
  private sendsInFlight = 0;
  private stopped = false;

  private constructor(
    private readonly socket: Socket,
    private readonly options: UdpTransportOptions,
  ) {
    socket.on('message', (datagram: Buffer, remote: RemoteInfo) => this.onDatagram(datagram, remote));
    socket.on('error', (err) => {
      this.counters.drop('socket-error');
      options.warn.warn('udp', `socket:${(err as NodeJS.ErrnoException).code ?? 'error'}`, { error: err.message }, 'UDP socket error');
    });
  }

  /**
   * Bind a UDP socket on `host:port` (`port` 0 picks one). Rejects with the raw socket
   * error (e.g. EADDRINUSE) so the caller can retry another port.
   */
  static bind(host: string, port: number, options: UdpTransportOptions): Promise<UdpTransport> {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      // Rejected once the socket is closed, so a failed start leaves no handle behind.
      const onError = (err: Error): void => {
        socket.close(() => reject(err));
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve(new UdpTransport(socket, options));
      });
    });
  }

  /** The bound `ip:port`. */
  address(): Address {
    const bound = this.socket.address();
    return formatAddress(bound.address, bound.port);
  }

  /**
   * Encode and send one message in one datagram. Resolves once the OS accepted it (no
   * delivery guarantee); rejects with FLO_ENCODE_OVERSIZED over the datagram budget,
   * FLO_QUEUE_FULL when too many sends are in flight, FLO_NODE_STOPPED after `close()`.
   */
  send(to: Address, message: Message): Promise<void> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    let bytes: Uint8Array;
    try {
      bytes = this.options.codec.encode(message);
    } catch (err) {
      if (isFlotillaError(err, 'FLO_ENCODE_OVERSIZED')) this.counters.drop('FLO_ENCODE_OVERSIZED');
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.sendBytes(to, bytes);
  }

  /**
   * Largest encoded message one datagram carries: the datagram budget, less the auth tag
   * when datagrams are authenticated.
   */
  get messageBytesMax(): number {
    return this.options.config.udpDatagramBudgetBytes - (this.options.auth === undefined ? 0 : DATAGRAM_TAG_BYTES);
  }

  /** Send already-encoded message bytes as one datagram (tagged), with the same checks as `send`. */
  sendBytes(to: Address, bytes: Uint8Array): Promise<void> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    const budget = this.messageBytesMax;
    if (bytes.length > budget) {
      this.counters.drop('FLO_ENCODE_OVERSIZED');
      return Promise.reject(
        new FlotillaError('FLO_ENCODE_OVERSIZED', `message of ${bytes.length} bytes exceeds the ${budget}-byte datagram budget`, {
          bytes: bytes.length,
          budget,
        }),
      );
    }
    const datagram = this.options.auth === undefined ? bytes : this.options.auth.seal(bytes);
    if (this.sendsInFlight >= this.options.config.udpSendsInFlightMax) {
      this.counters.drop('FLO_QUEUE_FULL');
      return Promise.reject(new FlotillaError('FLO_QUEUE_FULL', 'too many UDP sends in flight', { max: this.options.config.udpSendsInFlightMax }));
    }
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseAddress(to));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.sendsInFlight++;
    return new Promise((resolve, reject) => {
      this.socket.send(datagram, port, host, (err) => {
        this.sendsInFlight--;
        if (err) {
          this.counters.drop('socket-error');
          reject(toTransportError(err, to));
          return;
        }
        this.counters.framesOut++;
        this.counters.bytesOut += datagram.length;
        resolve();
      });
    });
  }

  /** Counters. */
  stats(): UdpStats {
    const s = this.counters.snapshot();
    return {
      datagramsIn: s.framesIn,
      datagramsOut: s.framesOut,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      sendsInFlight: this.sendsInFlight,
      dropped: s.dropped,
    };
  }

  /** Close the socket; later sends fail with FLO_NODE_STOPPED. */
  close(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onDatagram(datagram: Buffer, remote: RemoteInfo): void {
    this.counters.framesIn++;
    this.counters.bytesIn += datagram.length;
    const from = formatAddress(remote.address, remote.port);
    const budget = this.options.config.udpDatagramBudgetBytes;
    if (datagram.length > budget) {
      this.drop(from, remote.address, 'FLO_DECODE_OVERSIZED', `datagram of ${datagram.length} bytes exceeds the ${budget}-byte budget`);
      return;
    }
    const bytes = this.options.auth === undefined ? datagram : this.options.auth.open(datagram);
    if (bytes === undefined) {
      this.drop(from, remote.address, 'auth', 'datagram without a valid auth tag: the sender does not hold the cluster secret');
      return;
    }
    let message: Message;
    try {
      message = this.options.codec.decode(bytes);
    } catch (err) {
      this.drop(from, remote.address, isFlotillaError(err) ? err.code : 'FLO_DECODE_MALFORMED', String(err));
      return;
    }
    try {
      if (!this.options.onMessage(from, message)) this.drop(from, remote.address, 'no-handler', 'no message handler');
    } catch (err) {
      this.drop(from, remote.address, 'handler-error', String(err));
    }
  }

  /** Count a dropped datagram and log it once per source IP and reason. */
  private drop(from: Address, sourceIp: string, reason: DropReason, error: string): void {
    this.counters.drop(reason);
    this.options.warn.warn(sourceIp, reason, { channel: 'udp', from, error }, 'dropped UDP datagram');
  }
}
