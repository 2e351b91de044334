/**
 * The client's local copy of map values: what this client wrote (applied at once, before
 * any node acknowledged it) and what it last read, per map and key, bounded by
 * `cacheKeysMax` (least recently touched first out; keys with pending writes stay). It
 * also fans out change events to `subscribe` listeners.
 */
import type { KvValue } from '../protocol/map-values.js';

/** A change a subscriber sees. */
export interface MapChange<V extends KvValue = KvValue> {
  readonly map: string;
  readonly key: string;
  /** The new value; undefined after a delete. */
  readonly value: V | undefined;
  /** 'local': this client wrote it; 'remote': a read or resync brought a value written elsewhere. */
  readonly origin: 'local' | 'remote';
}

/** A subscriber. */
export type MapListener<V extends KvValue = KvValue> = (change: MapChange<V>) => void;

/** Known values: present with a value, or known deleted (`undefined`). */
export class LocalStore {
  private readonly values = new Map<string, Map<string, KvValue | undefined>>();
  private readonly listeners = new Map<string, Set<MapListener>>();
  private count = 0;

  constructor(
    private readonly keysMax: number,
    private readonly pinned: (map: string, key: string) => boolean,
  ) {}

  /** Whether the client knows anything about `key`. */
  has(map: string, key: string): boolean {
    return this.values.get(map)?.has(key) ?? false;
  }

  get(map: string, key: string): KvValue | undefined {
    return this.values.get(map)?.get(key);
  }

  /** Set (or, with undefined, mark deleted) and tell subscribers when it changed. */
  set(map: string, key: string, value: KvValue | undefined, origin: 'local' | 'remote'): void {
    let slots = this.values.get(map);
    if (slots === undefined) {
      slots = new Map();
      this.values.set(map, slots);
    }
    const known = slots.has(key);
    const before = slots.get(key);
    // Re-insert so iteration order is least recently touched first.
    slots.delete(key);
    slots.set(key, value);
    if (!known) this.count++;
    // Comparing values costs two serialisations per write: only worth it when someone listens.
    const listeners = this.listeners.get(map);
    if (listeners !== undefined && listeners.size > 0 && (!known || !sameValue(before, value))) this.emit(listeners, { map, key, value, origin });
    if (this.count > this.keysMax) this.evict();
  }

  /** Live values of `map` the client knows. */
  entries(map: string): [string, KvValue][] {
    const out: [string, KvValue][] = [];
    for (const [key, value] of this.values.get(map) ?? []) if (value !== undefined) out.push([key, value]);
    return out;
  }

  /** Every (map, key) known, for the resync after a reconnect. */
  keys(): [string, string][] {
    const out: [string, string][] = [];
    for (const [map, slots] of this.values) for (const key of slots.keys()) out.push([map, key]);
    return out;
  }

  subscribe(map: string, listener: MapListener): () => void {
    let set = this.listeners.get(map);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(map, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit(listeners: ReadonlySet<MapListener>, change: MapChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch {
        // A throwing subscriber must not break the client or the other subscribers.
      }
    }
  }

  private evict(): void {
    for (const [map, slots] of this.values) {
      for (const key of slots.keys()) {
        if (this.count <= this.keysMax) return;
        if (this.pinned(map, key)) continue;
        slots.delete(key);
        this.count--;
      }
    }
  }
}

function sameValue(a: KvValue | undefined, b: KvValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a, bytesAsList) === JSON.stringify(b, bytesAsList);
}

function bytesAsList(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? [...v] : v;
}
