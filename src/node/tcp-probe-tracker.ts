/**
 * The TCP leg of SWIM's fallback probe. When a peer's UDP probe of this node times out,
 * the peer also sends the Ping over TCP; the machine answers every Ping with a UDP Ack,
 * which would be lost again if UDP is what is broken. The driver remembers Pings that
 * came over TCP and sends the matching Ack back over TCP, within a window and a bound.
 */
import type { Millis } from '../core/clock.js';
import type { Transmit } from '../core/machine.js';
import type { Address } from '../core/model.js';
import type { Message } from '../protocol/messages.js';

/** Pings received over TCP, awaiting the machine's Ack. */
export class TcpProbeTracker {
  private readonly expiresAt = new Map<string, Millis>();
  private rerouted = 0;

  constructor(
    private readonly windowMs: number,
    private readonly trackedMax: number,
  ) {}

  /** Acks sent back over TCP so far. */
  get answered(): number {
    return this.rerouted;
  }

  /** A Ping with `seqNo` arrived over TCP from `from`. */
  notePing(from: Address, seqNo: number, now: Millis): void {
    this.expire(now);
    const key = `${from}#${seqNo}`;
    this.expiresAt.delete(key);
    if (this.expiresAt.size >= this.trackedMax) this.expiresAt.delete(this.expiresAt.keys().next().value as string);
    this.expiresAt.set(key, now + this.windowMs);
  }

  /** `transmit`, moved to TCP when it is the Ack of a Ping that came over TCP. */
  route(transmit: Transmit<Message>, now: Millis): Transmit<Message> {
    if (this.expiresAt.size === 0 || transmit.message.type !== 'Ack' || transmit.channel !== 'udp') return transmit;
    const key = `${transmit.to}#${transmit.message.seqNo}`;
    const until = this.expiresAt.get(key);
    if (until === undefined) return transmit;
    this.expiresAt.delete(key);
    if (until < now) return transmit;
    this.rerouted++;
    return { ...transmit, channel: 'tcp' };
  }

  /** Forgets entries past their window (insertion order is time order). */
  private expire(now: Millis): void {
    for (const [key, until] of this.expiresAt) {
      if (until >= now) return;
      this.expiresAt.delete(key);
    }
  }
}
