/**
 * Map change subscriptions of the gateway's connections: which connection wants which
 * map's changes (every key, one key, or a key prefix), indexed by map name so each
 * write this node acknowledges as owner is matched in one lookup. Bounded per connection.
 */
import { FlotillaError } from '../core/errors.js';
import { mapOfChange, versionOfChange, type KvChange } from '../grid/kv-codec.js';
import type { ClientSubscription, ServerFrame } from '../protocol/client-frames.js';

interface Entry<C> {
  readonly conn: C;
  readonly sub: ClientSubscription;
}

/** Subscriptions by map, for connections of type `C`. */
export class ClientSubscriptions<C> {
  private readonly byMap = new Map<string, Set<Entry<C>>>();
  private readonly byConn = new Map<C, Map<number, Entry<C>>>();

  constructor(private readonly perConnectionMax: number) {}

  /** @throws FLO_QUEUE_FULL past the per-connection bound. */
  add(conn: C, sub: ClientSubscription): void {
    let mine = this.byConn.get(conn);
    if (mine === undefined) {
      mine = new Map();
      this.byConn.set(conn, mine);
    }
    this.remove(conn, sub.id);
    if (mine.size >= this.perConnectionMax) throw new FlotillaError('FLO_QUEUE_FULL', `${this.perConnectionMax} subscriptions on this connection already`);
    const entry = { conn, sub };
    mine.set(sub.id, entry);
    let set = this.byMap.get(sub.map);
    if (set === undefined) {
      set = new Set();
      this.byMap.set(sub.map, set);
    }
    set.add(entry);
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

  /** The EVENT frames `change` makes, with the connection each goes to. */
  match(change: KvChange): [C, ServerFrame][] {
    const set = this.byMap.get(mapOfChange(change));
    if (set === undefined) return [];
    const out: [C, ServerFrame][] = [];
    const value = change.kind === 'put' ? change.entry.value : null;
    for (const { conn, sub } of set) {
      if (sub.key !== null && sub.key !== change.key) continue;
      if (sub.prefix !== null && !change.key.startsWith(sub.prefix)) continue;
      out.push([conn, { type: 'EVENT', id: sub.id, key: change.key, value, version: versionOfChange(change) }]);
    }
    return out;
  }
}
