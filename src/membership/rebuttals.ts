/**
 * Answers to stale accusations. A member that still gossips a Suspect or Dead about this
 * node at an incarnation this node has already refuted missed the refutation, and gossip
 * alone may never bring it back (the refutation's transmits can all go elsewhere or be
 * lost). Such a member is answered directly with this node's current Alive, at most once
 * per `intervalMs` per sender so a peer that keeps repeating an old rumour costs a bounded
 * number of replies.
 */
import type { Millis } from '../core/clock.js';
import type { Address } from '../core/model.js';

/** Senders remembered for rate limiting; the least recently answered is forgotten first. */
export const REBUTTAL_PEERS_MAX = 1024;

/** Senders owed a direct Alive, rate-limited per sender. */
export class Rebuttals {
  private readonly lastSentAt = new Map<Address, Millis>();
  private pending: Address[] = [];

  constructor(private readonly intervalMs: number) {}

  /** Replies waiting to be sent. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * `from` accused this node at an incarnation it already refuted: owe it a reply unless
   * it was answered within the interval.
   */
  note(from: Address, now: Millis): void {
    const last = this.lastSentAt.get(from);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.lastSentAt.delete(from);
    if (this.lastSentAt.size >= REBUTTAL_PEERS_MAX) this.lastSentAt.delete(this.lastSentAt.keys().next().value as Address);
    this.lastSentAt.set(from, now);
    this.pending.push(from);
  }

  /** Takes the owed replies (each sender at most once), emptying the list. */
  drain(): Address[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
