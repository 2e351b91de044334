/**
 * The transport's configuration: one typed defaults object, every field with its meaning,
 * unit, default and trade-off, and one function that fills in defaults and checks the
 * cross-field rules so a bad combination fails at construction, not under load.
 */
import { isIP } from 'node:net';
import { FlotillaError } from '../core/errors.js';
import { ENVELOPE_HEADER_BYTES_MAX } from './envelope.js';
import { FRAME_LENGTH_BYTES, TCP_FRAME_BYTES_MAX, UDP_DATAGRAM_BUDGET_BYTES } from '../protocol/index.js';
import { checkTlsMaterial, type TlsMaterial } from './tls-config.js';
import { FRAME_AUTH_KEY_BYTES_MIN } from './frame-auth.js';

/** Transport settings. All sizes in bytes, all durations in milliseconds. */
export interface TransportConfig {
  /**
   * IP literal to bind the UDP socket and the TCP listener to (one address serves both).
   * Default `127.0.0.1`; use `0.0.0.0`/`::` with `advertiseHost` to serve other hosts.
   */
  readonly host: string;
  /**
   * Port shared by UDP and TCP. Default `0`: the OS picks a free port that is free for
   * both protocols (see `bindAttemptsMax`); read it back with `address()`.
   */
  readonly port: number;
  /**
   * Host other nodes use to reach this one (carried in the TCP handshake). Default: `host`.
   * Required when `host` is a wildcard, since `0.0.0.0` is not reachable from elsewhere.
   */
  readonly advertiseHost: string | undefined;
  /** Node id sent in the TCP handshake, for logs on the peer. Default: none. */
  readonly nodeId: string | undefined;
  /**
   * Largest encoded message carried in one TCP frame (the frame adds a 4-byte length and
   * an envelope header of at most 5 bytes). Default 16 MiB, the protocol's frame limit.
   * Checked against the length header before any body byte is buffered, so a peer can make
   * us hold at most this much per connection. Larger allows bigger migration chunks;
   * smaller caps memory per peer.
   */
  readonly frameBytesMax: number;
  /**
   * Largest UDP datagram sent or accepted. Default 1,400 bytes, under the usual 1,500-byte
   * Ethernet MTU minus IP/UDP headers, so datagrams do not fragment. Every node of a
   * cluster must use the same value: larger inbound datagrams are dropped. With `authKey`
   * the 16-byte tag is part of it, so messages get 16 bytes less (`udpMessageBytesMax`).
   */
  readonly udpDatagramBudgetBytes: number;
  /**
   * Most UDP sends handed to the OS and not yet confirmed. Default 1,024. Beyond it a
   * send fails with FLO_QUEUE_FULL rather than letting libuv queue without bound.
   */
  readonly udpSendsInFlightMax: number;
  /**
   * Most outbound TCP connections open (or opening) at once, over all peers. Default 50.
   * When full, the least recently used idle connection is closed to make room; when none
   * is idle, the send fails with FLO_QUEUE_FULL.
   */
  readonly poolConnectionsMax: number;
  /**
   * An outbound connection with no traffic for this long is closed. Default 60,000 ms.
   * Longer saves reconnects for sparse traffic; shorter frees sockets sooner.
   */
  readonly idleTimeoutMs: number;
  /**
   * How long to wait for an outbound TCP connection to be established. Default 2,000 ms.
   * On expiry the send fails with FLO_TIMEOUT. Shorter detects dead peers sooner but may
   * fail over congested links.
   */
  readonly connectTimeoutMs: number;
  /**
   * Most bytes queued in user space for one socket. Default 32 MiB (two largest frames).
   * A send that would go past it fails with FLO_QUEUE_FULL, so a slow reader costs at most
   * this much memory. Must hold at least one largest frame.
   */
  readonly writeBufferBytesMax: number;
  /**
   * An inbound connection that sends nothing for this long is closed (half-open or
   * abandoned peers). Default 90,000 ms; it must exceed `idleTimeoutMs` so peers close
   * their idle pooled connections before we cut them.
   */
  readonly readIdleTimeoutMs: number;
  /**
   * An inbound connection must complete the handshake (Hello, and with a key the proof of
   * the cluster secret) within this time or be closed; with TLS it also bounds the TLS
   * handshake. Default 2,000 ms: a member authenticates within a round trip or two, so
   * this is generous on a LAN while a connect-and-say-nothing socket holds a slot for at
   * most 2 s. Raise it for links with round trips near a second.
   */
  readonly handshakeTimeoutMs: number;
  /**
   * Most inbound TCP connections at once, authenticated or not. Default 256. When full, a
   * new connection evicts the oldest connection that has not completed the handshake
   * (counted as `inbound-evicted`); only a listener full of authenticated peers refuses
   * (counted as `inbound-limit`). So a flood of idle connections cannot lock members out.
   * With TLS, sockets still in their TLS handshake count as unauthenticated connections.
   */
  readonly inboundConnectionsMax: number;
  /**
   * Most inbound connections from one source IP that have not completed the handshake.
   * Default 8. A new one past it evicts that address's oldest unauthenticated connection,
   * so one host cannot fill the listener, and a member redialing from it still gets in.
   * Authenticated connections do not count: every node of a loopback test cluster shares
   * one address. Lower bounds one address's share tighter; a NAT hiding many members that
   * reconnect at once may need more.
   */
  readonly inboundHandshakesPerSourceMax: number;
  /**
   * Most requests awaiting a response at once (`request()`). Default 1,024; beyond it
   * `request()` fails with FLO_QUEUE_FULL.
   */
  readonly pendingRequestsMax: number;
  /** Default timeout of `request()` when the caller gives none. Default 5,000 ms. */
  readonly requestTimeoutMs: number;
  /**
   * Upper bound on `close()`: sockets still flushing after this long are destroyed.
   * Default 5,000 ms.
   */
  readonly closeTimeoutMs: number;
  /**
   * Attempts to find a port free for both UDP and TCP when `port` is 0. Default 16.
   */
  readonly bindAttemptsMax: number;
  /**
   * Mutual TLS for every TCP connection (joins, push-pull, tables, migrations, requests):
   * this node's certificate and key, and the CA its peers must chain to. Default none
   * (plain TCP). With it, plaintext peers and certificates from another CA are refused at
   * the handshake, counted as `tls-handshake` and logged with the reason. Every node of a
   * cluster must agree: a TLS node and a plain node cannot talk. UDP probes and gossip
   * stay plaintext datagrams (see docs/transport.md). The handshake costs a round trip or
   * two per new connection; pooled connections amortise it.
   */
  readonly tls: TlsMaterial | undefined;
  /**
   * The frame key that authenticates all cluster traffic (`startNode` derives it from the
   * cluster secret and id with `deriveFrameAuthKey`; at least 16 bytes). With it, every UDP
   * datagram carries a 16-byte HMAC tag, checked before decoding, and every TCP connection
   * opens with a challenge-response in both directions; datagrams and connections without
   * the key are dropped and counted as `auth`. The tag's bytes come out of
   * `udpDatagramBudgetBytes`. Default none: unauthenticated, for the transport's own unit
   * tests only. Every node of a cluster must hold the same key.
   */
  readonly authKey: Uint8Array | undefined;
  /**
   * Further frame keys accepted from peers (inbound handshakes, inbound datagrams) but
   * never used to send: the previous cluster secret's key while a new one rolls out.
   * Default none. Each one costs an HMAC on inbound datagrams the main key does not
   * open, so keep it only for the length of a rotation.
   */
  readonly authKeysAccepted: readonly Uint8Array[];
}

/** The defaults, in one place. */
export const DEFAULT_TRANSPORT_CONFIG: TransportConfig = {
  host: '127.0.0.1',
  port: 0,
  advertiseHost: undefined,
  nodeId: undefined,
  frameBytesMax: TCP_FRAME_BYTES_MAX,
  udpDatagramBudgetBytes: UDP_DATAGRAM_BUDGET_BYTES,
  udpSendsInFlightMax: 1024,
  poolConnectionsMax: 50,
  idleTimeoutMs: 60_000,
  connectTimeoutMs: 2_000,
  writeBufferBytesMax: 2 * TCP_FRAME_BYTES_MAX,
  readIdleTimeoutMs: 90_000,
  handshakeTimeoutMs: 2_000,
  inboundConnectionsMax: 256,
  inboundHandshakesPerSourceMax: 8,
  pendingRequestsMax: 1024,
  requestTimeoutMs: 5_000,
  closeTimeoutMs: 5_000,
  bindAttemptsMax: 16,
  tls: undefined,
  authKey: undefined,
  authKeysAccepted: [],
};

/** Largest UDP payload IPv4 can carry. */
export const UDP_PAYLOAD_BYTES_MAX = 65_507;

/** Smallest datagram budget that still fits a probe with a little gossip. */
export const UDP_BUDGET_BYTES_MIN = 256;

const positiveIntegerFields = [
  'frameBytesMax',
  'udpDatagramBudgetBytes',
  'udpSendsInFlightMax',
  'poolConnectionsMax',
  'idleTimeoutMs',
  'connectTimeoutMs',
  'writeBufferBytesMax',
  'readIdleTimeoutMs',
  'handshakeTimeoutMs',
  'inboundConnectionsMax',
  'inboundHandshakesPerSourceMax',
  'pendingRequestsMax',
  'requestTimeoutMs',
  'closeTimeoutMs',
  'bindAttemptsMax',
] as const satisfies readonly (keyof TransportConfig)[];

function invalid(detail: string, details?: Record<string, unknown>): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail, details);
}

/** Fill in defaults and check every field and cross-field rule (FLO_CONFIG_INVALID). */
export function resolveTransportConfig(partial: Partial<TransportConfig> = {}): TransportConfig {
  const config: TransportConfig = { ...DEFAULT_TRANSPORT_CONFIG, ...stripUndefined(partial) };
  for (const field of positiveIntegerFields) {
    const value = config[field];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw invalid(`transport.${field} must be a positive integer`, { field, value });
    }
  }
  if (isIP(config.host) === 0) throw invalid('transport.host must be an IP literal', { host: config.host });
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw invalid('transport.port must be an integer in 0..65535', { port: config.port });
  }
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  if (wildcard && config.advertiseHost === undefined) {
    throw invalid('transport.advertiseHost is required when binding a wildcard host', { host: config.host });
  }
  if (config.udpDatagramBudgetBytes < UDP_BUDGET_BYTES_MIN || config.udpDatagramBudgetBytes > UDP_PAYLOAD_BYTES_MAX) {
    throw invalid(`transport.udpDatagramBudgetBytes must be in ${UDP_BUDGET_BYTES_MIN}..${UDP_PAYLOAD_BYTES_MAX}`, {
      udpDatagramBudgetBytes: config.udpDatagramBudgetBytes,
    });
  }
  const largestFrameOnWire = config.frameBytesMax + FRAME_LENGTH_BYTES + ENVELOPE_HEADER_BYTES_MAX;
  if (config.writeBufferBytesMax < largestFrameOnWire) {
    throw invalid('transport.writeBufferBytesMax must hold at least one frame of frameBytesMax', {
      writeBufferBytesMax: config.writeBufferBytesMax,
      frameBytesMax: config.frameBytesMax,
    });
  }
  if (config.readIdleTimeoutMs <= config.idleTimeoutMs) {
    throw invalid('transport.readIdleTimeoutMs must exceed idleTimeoutMs so pooled peers close first', {
      readIdleTimeoutMs: config.readIdleTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
    });
  }
  if (config.handshakeTimeoutMs > config.readIdleTimeoutMs) {
    throw invalid('transport.handshakeTimeoutMs must not exceed readIdleTimeoutMs', {
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      readIdleTimeoutMs: config.readIdleTimeoutMs,
    });
  }
  if (config.tls !== undefined) checkTlsMaterial(config.tls);
  if (config.authKey !== undefined && (!(config.authKey instanceof Uint8Array) || config.authKey.length < FRAME_AUTH_KEY_BYTES_MIN)) {
    throw invalid(`transport.authKey must be a Uint8Array of at least ${FRAME_AUTH_KEY_BYTES_MIN} bytes`);
  }
  checkAcceptedKeys(config);
  return config;
}

/** The accepted keys: an array of keys as long as `authKey`, and only beside one, at most `AUTH_KEYS_ACCEPTED_MAX`. */
function checkAcceptedKeys(config: TransportConfig): void {
  const keys = config.authKeysAccepted;
  if (!Array.isArray(keys)) throw invalid('transport.authKeysAccepted must be an array of Uint8Array keys');
  if (keys.length > AUTH_KEYS_ACCEPTED_MAX) throw invalid(`transport.authKeysAccepted holds at most ${AUTH_KEYS_ACCEPTED_MAX} keys`);
  if (keys.length > 0 && config.authKey === undefined) throw invalid('transport.authKeysAccepted needs transport.authKey');
  for (const key of keys) {
    if (!(key instanceof Uint8Array) || key.length < FRAME_AUTH_KEY_BYTES_MIN) throw invalid(`transport.authKeysAccepted: each key must be a Uint8Array of at least ${FRAME_AUTH_KEY_BYTES_MIN} bytes`);
  }
}

/** Most keys accepted besides `authKey` (one rotation at a time). */
export const AUTH_KEYS_ACCEPTED_MAX = 2;

function stripUndefined(partial: Partial<TransportConfig>): Partial<TransportConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(partial)) if (value !== undefined) out[key] = value;
  return out as Partial<TransportConfig>;
}
