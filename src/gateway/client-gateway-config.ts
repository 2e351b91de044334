/**
 * The client gateway's bounds: frame size, time allowed to authenticate, connections,
 * operations in flight per connection and the time each may take, how often the partition map is checked for
 * changes to push, and the events a slow connection may have waiting. One defaults object, validated once when the gateway starts.
 */
import { checkFields, DAY_MS } from '../sharding/config.js';
import { CLIENT_PREAUTH_FRAME_BYTES_MAX } from '../protocol/client-frames.js';
import { PAYLOAD_BYTES_MAX } from '../protocol/limits.js';

/** The client gateway's bounds. */
export interface ClientGatewayConfig {
  /**
   * Largest frame a client may send once authenticated, in bytes. Default 2 MiB (a 1 MiB
   * value with room to spare). Bigger frames close the socket (WebSocket code 1009).
   * Before authentication the bound is 16 KiB whatever this says.
   */
  readonly frameBytesMax: number;
  /** Time a new connection has to send a valid AUTH frame. Unit: ms. Default 5,000; then the socket is closed. */
  readonly authTimeoutMs: number;
  /** Open client connections, at most. Default 10,000; beyond it new sockets are closed at once (code 1013). */
  readonly connectionsMax: number;
  /**
   * Operations one connection may have running at once. Default 1,024; past it an op is
   * answered FLO_QUEUE_FULL (retryable), so one client cannot hold unbounded work.
   */
  readonly opsInFlightMax: number;
  /**
   * How long the node works on one map operation of a client (routing, and retries of
   * retryable refusals such as FLO_TOO_FEW_COPIES or FLO_PARTITION_SYNCING) before it
   * answers with the last refusal (or FLO_TIMEOUT). Unit: ms. Default 5,000: below the
   * smart client's `requestTimeoutMs` (15,000), so the client hears the node's answer and
   * retries, instead of timing the node out and counting it against its circuit breaker.
   */
  readonly opTimeoutMs: number;
  /**
   * How often the gateway compares the partition map with the last one pushed. Unit: ms.
   * Default 250. Lower pushes table changes sooner, at the cost of a little CPU per node.
   */
  readonly mapPushIntervalMs: number;
  /** Map change subscriptions and live queries one connection may hold. Default 256; past it SUBSCRIBE is answered FLO_QUEUE_FULL. */
  readonly subscriptionsMax: number;
  /**
   * Bytes a connection may have waiting in its socket before the change events of its
   * resumable subscriptions are dropped (the client is sent EVENTS_DROPPED once and
   * resyncs). Unit: bytes. Default 8 MiB. Higher rides out longer stalls of a slow
   * client at the cost of node memory per connection.
   */
  readonly eventBufferBytesMax: number;
}

/** The defaults. */
export const DEFAULT_CLIENT_GATEWAY_CONFIG: ClientGatewayConfig = Object.freeze({
  frameBytesMax: 2 * 1024 * 1024,
  authTimeoutMs: 5_000,
  connectionsMax: 10_000,
  opsInFlightMax: 1_024,
  opTimeoutMs: 5_000,
  mapPushIntervalMs: 250,
  subscriptionsMax: 256,
  eventBufferBytesMax: 8 * 1024 * 1024,
});

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveClientGatewayConfig(overrides: Partial<ClientGatewayConfig> = {}): ClientGatewayConfig {
  const c: ClientGatewayConfig = { ...DEFAULT_CLIENT_GATEWAY_CONFIG, ...overrides };
  checkFields('gateway', c, {
    frameBytesMax: [CLIENT_PREAUTH_FRAME_BYTES_MAX, PAYLOAD_BYTES_MAX],
    authTimeoutMs: [1, DAY_MS],
    connectionsMax: [1, 1_000_000],
    opsInFlightMax: [1, 1_000_000],
    opTimeoutMs: [1, DAY_MS],
    mapPushIntervalMs: [10, 60_000],
    subscriptionsMax: [1, 100_000],
    eventBufferBytesMax: [0, 1024 * 1024 * 1024],
  });
  return Object.freeze(c);
}
