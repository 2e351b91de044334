/**
 * The transport layer's public face: real UDP and TCP sockets for inter-node traffic,
 * the outbound connection pool, request/response, configuration (mutual TLS and frame
 * authentication included) and counters.
 */
export { ClusterTransport, type MessageHandler, type TransportDeps, type TransportStats } from './transport.js';
export {
  DEFAULT_TRANSPORT_CONFIG,
  resolveTransportConfig,
  UDP_BUDGET_BYTES_MIN,
  UDP_PAYLOAD_BYTES_MAX,
  type TransportConfig,
} from './config.js';
export type { MessageCodec } from './message-codec.js';
export { createProtocolCodec, protocolCodec } from './message-codec.js';
export { silentLogger, warnLinesPerWindowMax, warnWindowMs, type TransportLogger, type WarnStats } from './logger.js';
export { sumTraffic, type DropReason, type TrafficStats } from './counters.js';
export type { UdpStats } from './udp-transport.js';
export type { TcpStats, RequestHandler } from './tcp-transport.js';
export type { PoolStats } from './connection-pool.js';
export type { RequestStats } from './request-tracker.js';
export { formatAddress, parseAddress, type HostPort } from './address.js';
export { DATAGRAM_TAG_BYTES, deriveFrameAuthKey, FRAME_AUTH_INFO, FRAME_AUTH_KEY_BYTES, FRAME_AUTH_KEY_BYTES_MIN } from './frame-auth.js';
export {
  checkTlsMaterial,
  loadTlsFiles,
  TLS_MIN_VERSION,
  TLS_PEM_BYTES_MAX,
  TLS_PEM_CERTIFICATES_MAX,
  type TlsFiles,
  type TlsMaterial,
} from './tls-config.js';
