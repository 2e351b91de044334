/**
 * Traffic and drop counters shared by the UDP socket, the TCP listener and the pool. Every
 * message or frame the transport refuses is counted here by reason, so an operator can
 * see garbage, oversized frames and backpressure without reading logs.
 */
import type { ErrorCode } from '../core/errors.js';

/**
 * Why a datagram, frame, send or connection was dropped: a catalogued error code for
 * decode and size failures, or a transport condition.
 */
export type DropReason =
  | ErrorCode
  | 'handshake-timeout'
  | 'handshake-missing'
  | 'read-idle-timeout'
  | 'inbound-limit'
  | 'inbound-evicted'
  | 'no-handler'
  | 'handler-error'
  | 'unmatched-response'
  | 'socket-error'
  | 'tls-handshake'
  | 'auth';

/** A snapshot of one counter set. */
export interface TrafficStats {
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Dropped items by reason; reasons never seen are absent. */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
}

/** Mutable counters behind a `TrafficStats` snapshot. */
export class TrafficCounters {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  private readonly drops = new Map<DropReason, number>();

  /** Count one drop. */
  drop(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  /** Copy of the current values. */
  snapshot(): TrafficStats {
    return {
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      dropped: Object.fromEntries(this.drops) as Partial<Record<DropReason, number>>,
    };
  }
}

/** Sum of several snapshots (e.g. inbound and outbound TCP). */
export function sumTraffic(parts: readonly TrafficStats[]): TrafficStats {
  const dropped: Partial<Record<DropReason, number>> = {};
  let framesIn = 0;
  let framesOut = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const part of parts) {
    framesIn += part.framesIn;
    framesOut += part.framesOut;
    bytesIn += part.bytesIn;
    bytesOut += part.bytesOut;
    for (const [reason, count] of Object.entries(part.dropped) as [DropReason, number][]) {
      dropped[reason] = (dropped[reason] ?? 0) + count;
    }
  }
  return { framesIn, framesOut, bytesIn, bytesOut, dropped };
}
