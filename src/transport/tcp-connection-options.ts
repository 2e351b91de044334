/**
 * What a framed connection is given: its role, keys, limits and hooks, and how many
 * frames it reads before it opens (each held to the handshake frame size).
 */
import type { FlotillaError } from '../core/errors.js';
import type { TrafficCounters } from './counters.js';
import type { WarnOnce } from './logger.js';
import type { Envelope } from './envelope.js';
import type { FramedConnection } from './tcp-connection.js';

/** Most time the last frame of a refused handshake may take to flush before the socket is destroyed. */
export const HANDSHAKE_REFUSAL_FLUSH_MS = 1_000;

/** Limits and hooks for one connection. */
export interface ConnectionOptions {
  /** `inbound` connections must open with a Hello frame; `outbound` ones send it (`open`). */
  readonly role: 'inbound' | 'outbound';
  /**
   * The frame key both sides must prove they hold before any frame is accepted; undefined
   * runs the handshake without authentication (the transport's own unit tests only).
   */
  readonly authKey?: Uint8Array | undefined;
  /** Further keys an inbound dialer may prove (a previous secret's, during a rotation). */
  readonly authKeysAccepted?: readonly Uint8Array[];
  /** Largest message payload; the frame body may add the envelope header on top. */
  readonly frameBytesMax: number;
  readonly writeBufferBytesMax: number;
  /** Inbound: close when nothing is read for this long. Outbound: 0 (the pool owns idleness). */
  readonly readIdleTimeoutMs: number;
  /** Inbound: close when the handshake is not complete within this long. */
  readonly handshakeTimeoutMs: number;
  readonly counters: TrafficCounters;
  readonly warn: WarnOnce;
  /** Every frame after the handshake (none before it). */
  readonly onEnvelope: (connection: FramedConnection, envelope: Envelope) => void;
  /** Called once, after the socket closed; `cause` is set when it closed on an error. */
  readonly onClose: (connection: FramedConnection, cause: FlotillaError | undefined) => void;
}

/**
 * Frames this side reads before the connection opens, all held to the handshake frame
 * size: with a key, Hello and Proof (listener) or Challenge and Confirm (dialer, whose
 * second may instead be the Error frame of a refusal); without one, the listener's Hello.
 */
export function handshakeFramesRead(options: ConnectionOptions): number {
  if (options.authKey !== undefined) return 2;
  return options.role === 'inbound' ? 1 : 0;
}
