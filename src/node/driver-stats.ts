/**
 * The driver's counters: what went through the loop, what was dropped at a bound, what
 * failed, and how late the event loop runs. Plain numbers for stats and metrics.
 */
import type { MessageType } from '../protocol/messages.js';
import type { EventLoopLag } from './event-loop-lag.js';

/** What the driver counts. */
export interface DriverStats {
  readonly turns: number;
  /** Inbound messages handled. */
  readonly inputs: number;
  readonly inboxQueued: number;
  readonly inboxDropped: number;
  readonly serviceOutboxDropped: number;
  /** Transmits handed to the transport. */
  readonly transmits: number;
  /** Failed sends by error code. */
  readonly sendErrors: Readonly<Record<string, number>>;
  /** Inbound messages no one takes, by type (dropped). */
  readonly unrouted: Readonly<Partial<Record<MessageType, number>>>;
  /** Alive rumours about never-admitted nodes that were stripped. */
  readonly rumoursRejected: number;
  readonly serviceErrors: number;
  /** Turns that threw (a bug in a machine; the driver carries on). */
  readonly turnFailures: number;
  /** Acks sent back over TCP for Pings that came over TCP. */
  readonly tcpAcksSent: number;
  /** Acks received over TCP: this node's UDP probe failed but TCP worked. */
  readonly tcpAcksReceived: number;
  readonly eventLoopLag: EventLoopLag;
}
