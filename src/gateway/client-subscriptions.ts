/**
 * Map change subscriptions of the gateway's connections: which connection wants which
 * map's changes (every key, one key, or a key prefix), indexed by map name so each
 * write this node acknowledges as owner is matched in one lookup. Bounded per connection.
 * A resumable subscription's events carry their partition's resume mark.
 */
import { FlotillaError } from '../core/errors.js';
import type { ChangeMark } from '../grid/change-replay.js';
import { mapOfChange, versionOfChange, type KvChange } from '../grid/kv-codec.js';
import type { ClientSubscription, EventMark, ServerFrame } from '../protocol/client-frames.js';
import type { FilterPredicate } from '../protocol/query-filter.js';
import { asQueryChange, lazyValue } from './client-queries.js';

/** One subscription of one connection. */
export interface SubscriptionEntry<C> {
  readonly conn: C;
  readonly sub: ClientSubscription;
  /** Resumable (the client sent a cursor field): events carry marks, losses are told. */
  readonly resumable: boolean;
  /** Events are being dropped (the connection is behind); the notice went out. */
  dropping: boolean;
  /**
   * Partitions this subscription's last SUBSCRIBE answer covered, with their epochs then:
   * only their events carry marks, and only while the epoch holds (an owner that lost a
   * partition and got it back must not vouch for the writes of the owner in between).
   */
  covered: ReadonlyMap<number, number>;
  /** A live query's filter: its events say whether each change is in the result. */
  readonly predicate?: FilterPredicate;
}

type Entry<C> = SubscriptionEntry<C>;

/** Subscriptions by map, for connections of type `C`. */
export class ClientSubscriptions<C> {
  private readonly byMap = new Map<string, Set<Entry<C>>>();
  private readonly byConn = new Map<C, Map<number, Entry<C>>>();

  constructor(private readonly perConnectionMax: number) {}

  /** @throws FLO_QUEUE_FULL past the per-connection bound. */
  add(conn: C, sub: ClientSubscription, predicate?: FilterPredicate): SubscriptionEntry<C> {
    let mine = this.byConn.get(conn);
    if (mine === undefined) {
      mine = new Map();
      this.byConn.set(conn, mine);
    }
    this.remove(conn, sub.id);
    if (mine.size >= this.perConnectionMax) throw new FlotillaError('FLO_QUEUE_FULL', `${this.perConnectionMax} subscriptions on this connection already`);
    const entry: Entry<C> = { conn, sub, resumable: sub.since !== undefined, dropping: false, covered: new Map(), ...(predicate === undefined ? {} : { predicate }) };
    mine.set(sub.id, entry);
    let set = this.byMap.get(sub.map);
    if (set === undefined) {
      set = new Set();
      this.byMap.set(sub.map, set);
    }
    set.add(entry);
    return entry;
  }

  remove(conn: C, id: number): void {
    const entry = this.byConn.get(conn)?.get(id);
    if (entry === undefined) return;
    this.byConn.get(conn)!.delete(id);
    const set = this.byMap.get(entry.sub.map);
    set?.delete(entry);
    if (set?.size === 0) this.byMap.delete(entry.sub.map);
  }

  /** Forget every subscription of a closed connection. */
  drop(conn: C): void {
    for (const id of [...(this.byConn.get(conn)?.keys() ?? [])]) this.remove(conn, id);
    this.byConn.delete(conn);
  }

  /** The subscriptions `change` matches, each with its EVENT frame (with `mark` where the subscription covers its partition and epoch). */
  match(change: KvChange, mark?: ChangeMark): [Entry<C>, ServerFrame][] {
    const set = this.byMap.get(mapOfChange(change));
    if (set === undefined) return [];
    const out: [Entry<C>, ServerFrame][] = [];
    const value = lazyValue(change);
    for (const entry of set) {
      const { sub } = entry;
      if (sub.key !== null && sub.key !== change.key) continue;
      if (sub.prefix !== null && !change.key.startsWith(sub.prefix)) continue;
      const covered = mark !== undefined && entry.resumable && entry.covered.get(mark.partition) === mark.epoch;
      const seen = entry.predicate === undefined ? change : asQueryChange(entry.predicate, change, value);
      out.push([entry, eventFrame(sub.id, seen, covered ? { partition: mark.partition, millis: mark.millis } : undefined)]);
    }
    return out;
  }
}

/** The EVENT frame of `change` for subscription `id`. */
export function eventFrame(id: number, change: KvChange, mark: EventMark | undefined): ServerFrame {
  const frame = { type: 'EVENT' as const, id, key: change.key, value: change.kind === 'put' ? change.entry.value : null, version: versionOfChange(change) };
  return mark === undefined ? frame : { ...frame, mark };
}
