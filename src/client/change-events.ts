/**
 * The client's side of change events: the subscriptions sent to every node (with their
 * resume cursors), events taken into the local copy unless older than a version already
 * seen or about a key with a pending write, marks advancing the cursors
 * (resume-cursors.ts), a resubscription with the cursors after each map change so that
 * nodes replay what the client may have missed, and a re-read of the subscription's known
 * keys when a node reports events dropped. With one connection (`serverUrl`) the
 * subscriptions ask that node to relay the other owners' changes, marks and all.
 */
import type { TimerHandle, Timers } from '../core/timers.js';
import type { ClientSubscription, ServerFrame } from '../protocol/client-frames.js';
import { decodeValue } from '../protocol/map-values.js';
import { decodeMarks } from './answers.js';
import type { LocalStore } from './local-store.js';
import type { NodeConnection } from './node-connection.js';
import { ResumeCursors } from './resume-cursors.js';
import type { SubscriptionFilter, SubscriptionSet } from './subscriptions.js';

/**
 * Delay of the resubscription after a map change (ms): a rebalance publishes a burst of
 * tables, and each resubscription costs every node a scan of the subscription's map, so
 * the burst is answered once. Gateways push a changed map within 250 ms anyway.
 */
export const RESUBSCRIBE_DELAY_MS = 100;

/** What change events work with. */
export interface ChangeEventParts {
  readonly timers: Timers;
  readonly subs: SubscriptionSet;
  readonly local: LocalStore;
  readonly pending: (map: string, key: string) => boolean;
  readonly connections: () => Iterable<NodeConnection>;
  /** Re-read the known keys `which` picks. */
  readonly resync: (which: (slot: [string, string]) => boolean) => void;
  /** One connection (`serverUrl`): ask it to relay the partitions it does not own from their owners. */
  readonly relay?: boolean;
}

/** Subscriptions, events and cursors. */
export class ChangeEvents {
  private readonly cursors = new ResumeCursors();
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly parts: ChangeEventParts) {}

  /** Subscribe on every connection (when the filter is new); returns the function that ends it. */
  subscribe(map: string, filter: SubscriptionFilter): () => void {
    const { subs } = this.parts;
    const { sub, created } = subs.acquire(map, filter);
    if (created) for (const conn of this.parts.connections()) conn.subscription(this.resumable(sub), true);
    return () => {
      if (!subs.release(sub)) return;
      this.cursors.forget(sub.id);
      for (const conn of this.parts.connections()) conn.subscription(sub, false);
    };
  }

  /** Every subscription with its cursor, as a (re)connecting node is sent them. */
  all(): ClientSubscription[] {
    return this.parts.subs.all().map((sub) => this.resumable(sub));
  }

  onEvent(event: Extract<ServerFrame, { type: 'EVENT' }>, from: string): void {
    const { subs, local } = this.parts;
    const sub = subs.get(event.id);
    if (sub === undefined) return;
    // The mark counts whether or not the event itself is news: it says what was sent.
    if (event.mark !== undefined) this.cursors.marked(sub.id, from, event.mark.partition, event.mark.millis);
    if (this.parts.pending(sub.map, event.key) || !subs.newer(sub.map, event.key, event.version)) return;
    local.set(sub.map, event.key, event.value === null ? undefined : decodeValue(event.value), 'remote');
  }

  onSubscribed(id: number, payload: Uint8Array | null, from: string): void {
    if (this.parts.subs.get(id) === undefined) return;
    try {
      this.cursors.subscribed(id, from, decodeMarks(payload));
    } catch {
      // An unreadable answer advances nothing: the next replay starts lower.
    }
  }

  /** Lost events can be of any key of the subscription: re-read the ones known. */
  onEventsDropped(id: number): void {
    const sub = this.parts.subs.get(id);
    if (sub !== undefined) this.parts.resync(([map, key]) => map === sub.map && matches(sub, key));
  }

  onDown(conn: string): void {
    this.cursors.lost(conn);
  }

  /**
   * Owners may have moved: marks wait for new answers, and after a short delay every
   * connection is sent the subscriptions again with their cursors, so a promoted owner
   * replays what its predecessor acknowledged while this client did not hear from it.
   */
  mapChanged(): void {
    this.cursors.lostAll();
    this.timer ??= this.parts.timers.at(this.parts.timers.now() + RESUBSCRIBE_DELAY_MS, () => {
      this.timer = undefined;
      if (this.closed) return;
      this.cursors.lostAll();
      for (const conn of this.parts.connections()) for (const sub of this.all()) conn.subscription(sub, true);
    });
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }

  private resumable(sub: ClientSubscription): ClientSubscription {
    const since = this.cursors.since(sub.id);
    return this.parts.relay === true ? { ...sub, since, relay: true } : { ...sub, since };
  }
}

function matches(sub: ClientSubscription, key: string): boolean {
  return (sub.key === null || sub.key === key) && (sub.prefix === null || key.startsWith(sub.prefix));
}
