/**
 * Map change subscriptions of the gateway's connections: which connection wants which
 * map's changes (every key, one key, or a key prefix), indexed by map name so each
 * write this node acknowledges as owner is matched in one lookup. Bounded per connection.
 * A resumable subscription's events carry their partition's resume mark.
 */
import { FlotillaError } from '../core/errors.js';
import { mapOfChange, versionOfChange, type KvChange } from '../grid/kv-codec.js';
import type { ClientSubscription, EventMark, ServerFrame } from '../protocol/client-frames.js';

/** One subscription of one connection. */
export interface SubscriptionEntry<C> {
  readonly conn: C;
  readonly sub: ClientSubscription;
  /** Resumable (the client sent a cursor field): events carry marks, losses are told. */
  readonly resumable: boolean;
  /** Events are being dropped (the connection is behind); the notice went out. */
  dropping: boolean;
}

type Entry<C> = SubscriptionEntry<C>;

/** Subscriptions by map, for connections of type `C`. */
export class ClientSubscriptions<C> {
  private readonly byMap = new Map<string, Set<Entry<C>>>();
  private readonly byConn = new Map<C, Map<number, Entry<C>>>();

  constructor(private readonly perConnectionMax: number) {}

  /** @throws FLO_QUEUE_FULL past the per-connection bound. */
  add(conn: C, sub: ClientSubscription): SubscriptionEntry<C> {
    let mine = this.byConn.get(conn);
    if (mine === undefined) {
      mine = new Map();
      this.byConn.set(conn, mine);
    }
    this.remove(conn, sub.id);
    if (mine.size >= this.perConnectionMax) throw new FlotillaError('FLO_QUEUE_FULL', `${this.perConnectionMax} subscriptions on this connection already`);
    const entry: Entry<C> = { conn, sub, resumable: sub.since !== undefined, dropping: false };
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

  /** The subscriptions `change` matches, each with its EVENT frame (a resumable one's with `mark` when known). */
  match(change: KvChange, mark?: EventMark): [Entry<C>, ServerFrame][] {
    const set = this.byMap.get(mapOfChange(change));
    if (set === undefined) return [];
    const out: [Entry<C>, ServerFrame][] = [];
    for (const entry of set) {
      const { sub } = entry;
      if (sub.key !== null && sub.key !== change.key) continue;
      if (sub.prefix !== null && !change.key.startsWith(sub.prefix)) continue;
      out.push([entry, eventFrame(sub.id, change, entry.resumable ? mark : undefined)]);
    }
    return out;
  }
}

/** The EVENT frame of `change` for subscription `id`. */
export function eventFrame(id: number, change: KvChange, mark: EventMark | undefined): ServerFrame {
  const frame = { type: 'EVENT' as const, id, key: change.key, value: change.kind === 'put' ? change.entry.value : null, version: versionOfChange(change) };
  return mark === undefined ? frame : { ...frame, mark };
}
