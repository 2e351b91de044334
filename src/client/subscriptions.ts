/**
 * The client's map change subscriptions on the server side: one per (map, key or prefix)
 * however many local listeners share it, re-sent to every node on each (re)connect (each
 * node reports the writes it acknowledges as owner). Events can reach the client through
 * several nodes around a failover, so the newest version seen per key (by events and by
 * reads) is kept, bounded, and older events are dropped; reads use it to never go back
 * in time.
 */
import type { ClientSubscription, EventVersion } from '../protocol/client-frames.js';

/** What a subscriber filters on: nothing (every key), one key, or a key prefix. */
export interface SubscriptionFilter {
  readonly key?: string;
  readonly prefix?: string;
}

/** First subscription id: far above any op id a connection hands out, so the two never meet. */
const FIRST_ID = 2 ** 40;

/** The client's subscriptions and the event versions seen. */
export class SubscriptionSet {
  private readonly byFilter = new Map<string, { sub: ClientSubscription; refs: number }>();
  private readonly byId = new Map<number, ClientSubscription>();
  /**
   * Versions seen, in two generations: new ones go to `young`; when it holds half the bound
   * it becomes `old` and the previous `old` is dropped. So the keys updated least recently
   * go first, at one lookup and one insert per version (a strict least-recently-updated
   * order cost a delete and a re-insert on every write's acknowledgement).
   */
  private young = new Generation();
  private old = new Generation();
  private readonly generationMax: number;
  private nextId = FIRST_ID;

  constructor(versionsMax: number) {
    this.generationMax = Math.max(1, Math.floor(versionsMax / 2));
  }

  /** Take a reference to the subscription of `filter` on `map`; `created` when it is new (send it). */
  acquire(map: string, filter: SubscriptionFilter): { sub: ClientSubscription; created: boolean } {
    const id = `${map}\u0000${filter.key ?? ''}\u0000${filter.prefix ?? ''}`;
    const held = this.byFilter.get(id);
    if (held !== undefined) {
      held.refs++;
      return { sub: held.sub, created: false };
    }
    const sub: ClientSubscription = { id: this.nextId++, map, key: filter.key ?? null, prefix: filter.prefix ?? null };
    this.byFilter.set(id, { sub, refs: 1 });
    this.byId.set(sub.id, sub);
    return { sub, created: true };
  }

  /** Drop a reference; true when it was the last (send UNSUBSCRIBE). */
  release(sub: ClientSubscription): boolean {
    const id = `${sub.map}\u0000${sub.key ?? ''}\u0000${sub.prefix ?? ''}`;
    const held = this.byFilter.get(id);
    if (held === undefined || --held.refs > 0) return false;
    this.byFilter.delete(id);
    this.byId.delete(sub.id);
    return true;
  }

  all(): ClientSubscription[] {
    return [...this.byId.values()];
  }

  /** The subscription an event names, if still held. */
  get(id: number): ClientSubscription | undefined {
    return this.byId.get(id);
  }

  /** True (and remembered) when `version` is newer than any seen for the key (by events or reads). */
  newer(map: string, key: string, version: EventVersion): boolean {
    return this.observe(map, key, version) > 0;
  }

  /**
   * Compare `version` with the newest seen for the key: 1 newer (now remembered), 0 the
   * same, -1 older. A key never seen (or dropped by the bound) takes any version.
   */
  observe(map: string, key: string, version: EventVersion): -1 | 0 | 1 {
    const seen = this.young.get(map, key) ?? this.old.get(map, key);
    const order = seen === undefined ? 1 : compare(version, seen);
    if (order <= 0) return order as -1 | 0;
    this.young.set(map, key, version);
    // A dropped key accepts the next version it gets.
    if (this.young.size >= this.generationMax) {
      this.old = this.young;
      this.young = new Generation();
    }
    return 1;
  }

  /** Whether some version of the key was seen (and is still remembered). */
  seen(map: string, key: string): boolean {
    return this.young.get(map, key) !== undefined || this.old.get(map, key) !== undefined;
  }
}

/** Versions by map and key (nested: a joined name cost a new string per lookup). */
class Generation {
  private readonly maps = new Map<string, Map<string, EventVersion>>();
  size = 0;

  get(map: string, key: string): EventVersion | undefined {
    return this.maps.get(map)?.get(key);
  }

  set(map: string, key: string, version: EventVersion): void {
    let keys = this.maps.get(map);
    if (keys === undefined) {
      keys = new Map();
      this.maps.set(map, keys);
    }
    const before = keys.size;
    keys.set(key, version);
    this.size += keys.size - before;
  }
}

function compare(a: EventVersion, b: EventVersion): -1 | 0 | 1 {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node === b.node ? 0 : a.node < b.node ? -1 : 1;
}
