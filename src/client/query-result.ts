/**
 * The client's copy of one live query's result, and the rules that keep it true:
 * - a node's event is taken unless older than a version already seen for the key (events
 *   of one key reach the client through several nodes around a failover) or about a key
 *   with a pending local write (the local value stands until the write is acknowledged);
 * - an event with a value means the key is in the result (entered or changed), one
 *   without means it left (deleted, or no longer matching);
 * - a node's answer names the partitions it owns and scanned whole: whatever the result
 *   holds there that this node neither sent since its previous answer nor has pending
 *   locally left the result unseen (while a connection was down, or with a dead owner),
 *   so it goes;
 * - local writes apply at once, tested against the filter here.
 */
import type { EventVersion } from '../protocol/client-frames.js';
import type { KvValue } from '../protocol/map-values.js';
import type { FilterPredicate } from '../protocol/query-filter.js';

/** One change of a live query's result. */
export interface QueryChange<V extends KvValue = KvValue> {
  readonly type: 'enter' | 'update' | 'leave';
  readonly key: string;
  /** The value in the result; for a leave, the value the key had in it. */
  readonly value: V;
  /** The write's HLC version (for a leave found by a rescan, that of the value held); null for this client's own writes. */
  readonly version: EventVersion | null;
  readonly origin: 'local' | 'remote';
}

export type QueryListener<V extends KvValue = KvValue> = (change: QueryChange<V>) => void;

interface Held {
  value: KvValue;
  version: EventVersion | null;
  /** Nodes whose events brought this version, each with its answer count then (empty: a local write). */
  seenBy: Map<string, number>;
}

/** One live query's result. */
export class QueryResult {
  private readonly held = new Map<string, Held>();
  /** Newest version seen per key, leaves included, bounded (oldest out). */
  private readonly versions = new Map<string, EventVersion>();
  /** Per node: how many answers it gave (an entry's `answers` says which interval it came in). */
  private readonly answers = new Map<string, number>();

  constructor(
    private readonly predicate: FilterPredicate,
    private readonly pending: (key: string) => boolean,
    private readonly partitionOf: (key: string) => number,
    private readonly versionsMax: number,
    private readonly emit: (change: QueryChange) => void,
  ) {}

  entries(): Map<string, KvValue> {
    return new Map([...this.held].map(([k, h]) => [k, h.value]));
  }

  get size(): number {
    return this.held.size;
  }

  /** A node's event: `value` undefined for a leave. */
  remote(key: string, value: KvValue | undefined, version: EventVersion, from: string): void {
    if (this.pending(key)) return;
    const order = this.observe(key, version);
    if (order === 0) {
      // Seen already (through another node, or before a resubscription): this node vouches for it now.
      const h = this.held.get(key);
      if (h !== undefined && value !== undefined) h.seenBy.set(from, this.answers.get(from) ?? 0);
    }
    if (order <= 0) return;
    if (value === undefined) this.leave(key, version, 'remote');
    else this.put(key, value, version, from, 'remote');
  }

  /** This client wrote `key` (undefined: deleted): the filter decides here, at once. */
  local(key: string, value: KvValue | undefined): void {
    if (value !== undefined && safe(this.predicate, key, value)) this.put(key, value, null, null, 'local');
    else this.leave(key, null, 'local');
  }

  /** Node `from` answered a (re)subscription, having scanned `scanned` whole. */
  answered(from: string, scanned: readonly number[]): void {
    const interval = this.answers.get(from) ?? 0;
    if (scanned.length > 0) {
      const whole = new Set(scanned);
      for (const [key, h] of [...this.held]) {
        // Kept when this node sent it since its previous answer (its scan or a live event).
        if (!whole.has(this.partitionOf(key)) || h.seenBy.get(from) === interval || this.pending(key)) continue;
        this.leave(key, h.version, 'remote');
      }
    }
    this.answers.set(from, interval + 1);
  }

  private put(key: string, value: KvValue, version: EventVersion | null, from: string | null, origin: 'local' | 'remote'): void {
    const before = this.held.get(key);
    this.held.set(key, { value, version, seenBy: from === null ? new Map() : new Map([[from, this.answers.get(from) ?? 0]]) });
    this.emit({ type: before === undefined ? 'enter' : 'update', key, value, version, origin });
  }

  private leave(key: string, version: EventVersion | null, origin: 'local' | 'remote'): void {
    const before = this.held.get(key);
    if (before === undefined) return;
    this.held.delete(key);
    this.emit({ type: 'leave', key, value: before.value, version, origin });
  }

  /** 1 newer than any version seen for the key (now remembered), 0 the same, -1 older. */
  private observe(key: string, version: EventVersion): number {
    const seen = this.versions.get(key);
    const order = seen === undefined ? 1 : compare(version, seen);
    if (order <= 0) return order;
    this.versions.delete(key);
    this.versions.set(key, version);
    if (this.versions.size > this.versionsMax) this.versions.delete(this.versions.keys().next().value!);
    return 1;
  }
}

function safe(predicate: FilterPredicate, key: string, value: unknown): boolean {
  try {
    return predicate(key, value);
  } catch {
    return false;
  }
}

function compare(a: EventVersion, b: EventVersion): number {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node === b.node ? 0 : a.node < b.node ? -1 : 1;
}
