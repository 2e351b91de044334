/**
 * The client's live queries: each is a resumable subscription with a filter, sent to
 * every node on each (re)connect and after each map change with its resume cursor
 * (resume-cursors.ts), and a result kept by query-result.ts. A node answers with the
 * matching entries of the partitions it holds (the whole of those the cursor does not
 * list, what changed above the cursor for the others), then streams changes. When a node
 * reports events dropped, the query forgets its cursor and asks every node again for
 * everything, and each answer drops what its owner no longer has.
 */
import type { TimerHandle, Timers } from '../core/timers.js';
import { FlotillaError } from '../core/errors.js';
import type { ClientSubscription, ServerFrame } from '../protocol/client-frames.js';
import { decodeValue, type KvValue } from '../protocol/map-values.js';
import { compileFilter, parseFilter, type QueryFilter } from '../protocol/query-filter.js';
import { unpackBody } from '../protocol/msgpack.js';
import { RESUBSCRIBE_DELAY_MS } from './change-events.js';
import type { LocalStore } from './local-store.js';
import type { NodeConnection } from './node-connection.js';
import { QueryResult, type QueryListener } from './query-result.js';
import { ResumeCursors } from './resume-cursors.js';

/** Live queries one client may run at once (each costs every node a scan per resubscription). */
export const LIVE_QUERIES_MAX = 64;

/** First live query id: above subscription ids (from 2^40), far above op ids. */
const FIRST_ID = 2 ** 41;

/** A live query, as its caller holds it. */
export interface LiveQuery<V extends KvValue = KvValue> {
  /** The entries in the result as this client knows them now. */
  entries(): Map<string, V>;
  readonly size: number;
  /**
   * True once every node the client is connected to has answered the query's latest
   * SUBSCRIBE (sent at the start, on each reconnect, after each map change): the result
   * then holds what those nodes had when they answered. False again while a new round of
   * answers is awaited; false while a node refuses the query (see `error`).
   */
  readonly synced: boolean;
  /** The last refusal of this query by a node (FLO_QUEUE_FULL past a gateway's bound, ...), if any: that node reports nothing for it. */
  readonly error: FlotillaError | undefined;
  /** End the query on every node; its listener hears nothing more. */
  stop(): void;
}

/** What live queries work with. */
export interface LiveQueryParts {
  readonly timers: Timers;
  readonly local: LocalStore;
  readonly pending: (map: string, key: string) => boolean;
  /** The keys of `map` with a write not yet acknowledged, and their local values. */
  readonly pendingEntries: (map: string) => Iterable<[string, KvValue | undefined]>;
  readonly partitionOf: (key: string) => number;
  readonly connections: () => Iterable<NodeConnection>;
  readonly versionsMax: number;
  /** Live queries per client, at most. */
  readonly queriesMax: number;
  /** One connection (`serverUrl`): ask it to relay the partitions it does not own from their owners. */
  readonly relay?: boolean;
}

interface Query {
  readonly sub: ClientSubscription;
  error: FlotillaError | undefined;
  /** Connections (URLs) whose answer to the latest SUBSCRIBE is awaited. */
  readonly waiting: Set<string>;
  answered: boolean;
  readonly result: QueryResult;
  readonly stopLocal: () => void;
}

/** Every live query of one client. */
export class LiveQueries {
  private readonly queries = new Map<number, Query>();
  private readonly cursors = new ResumeCursors();
  private nextId = FIRST_ID;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly parts: LiveQueryParts) {}

  /** @throws FLO_INVALID_ARGUMENT for a bad filter, FLO_QUEUE_FULL past `queriesMax`. */
  start<V extends KvValue>(map: string, filter: QueryFilter, listener?: QueryListener<V>): LiveQuery<V> {
    const parsed = parseFilter(filter);
    if (this.queries.size >= this.parts.queriesMax) throw new FlotillaError('FLO_QUEUE_FULL', `${this.parts.queriesMax} live queries on this client already`);
    const sub: ClientSubscription = { id: this.nextId++, map, key: null, prefix: null, filter: parsed };
    const emit = (change: Parameters<QueryListener>[0]): void => {
      try {
        listener?.(change as Parameters<QueryListener<V>>[0]);
      } catch {
        // A throwing listener must not break the client or the result.
      }
    };
    const result = new QueryResult(compileFilter(parsed), (key) => this.parts.pending(map, key), this.parts.partitionOf, this.parts.versionsMax, emit);
    // This client's own writes count at once, those pending already and those to come.
    for (const [key, value] of this.parts.pendingEntries(map)) result.local(key, value);
    const stopLocal = this.parts.local.subscribe(map, (change) => {
      if (change.origin === 'local') result.local(change.key, change.value);
    });
    const q: Query = { sub, error: undefined, waiting: new Set(), answered: false, result, stopLocal };
    this.queries.set(sub.id, q);
    this.send(q);
    let active = true;
    return {
      entries: () => result.entries() as Map<string, V>,
      get size() {
        return result.size;
      },
      get error() {
        return q.error;
      },
      get synced() {
        return q.answered && q.waiting.size === 0;
      },
      stop: () => {
        if (!active) return;
        active = false;
        stopLocal();
        this.queries.delete(sub.id);
        this.cursors.forget(sub.id);
        for (const conn of this.parts.connections()) conn.subscription(sub, false);
      },
    };
  }

  has(id: number): boolean {
    return id >= FIRST_ID && this.queries.has(id);
  }

  /** Every query with its cursor, as node `conn` is sent them on (re)connecting. */
  all(conn: string): ClientSubscription[] {
    return [...this.queries.values()].map((q) => {
      q.waiting.add(conn);
      return this.resumable(q.sub);
    });
  }

  onEvent(event: Extract<ServerFrame, { type: 'EVENT' }>, from: string): void {
    const q = this.queries.get(event.id);
    if (q === undefined) return;
    if (event.mark !== undefined) this.cursors.marked(event.id, from, event.mark.partition, event.mark.millis);
    let value: KvValue | undefined;
    try {
      value = event.value === null ? undefined : decodeValue(event.value);
    } catch {
      return;
    }
    q.result.remote(event.key, value, event.version, from);
  }

  onSubscribed(id: number, payload: Uint8Array | null, from: string): void {
    const q = this.queries.get(id);
    if (q === undefined) return;
    const answer = readAnswer(payload);
    if (answer === undefined) return;
    this.cursors.subscribed(id, from, answer.marks);
    q.result.answered(from, answer.scanned);
    q.waiting.delete(from);
    q.answered = true;
  }

  onRefused(id: number, error: FlotillaError): void {
    const q = this.queries.get(id);
    if (q !== undefined) q.error = error;
  }

  /** Changes were lost: start over from nothing on every node (each answer sweeps what left). */
  onEventsDropped(id: number): void {
    const q = this.queries.get(id);
    if (q === undefined) return;
    this.cursors.forget(id);
    this.send(q);
  }

  onDown(conn: string): void {
    this.cursors.lost(conn);
    for (const q of this.queries.values()) q.waiting.delete(conn);
  }

  /** Owners may have moved: after a short delay every node is asked again, with the cursors. */
  mapChanged(): void {
    this.cursors.lostAll();
    this.timer ??= this.parts.timers.at(this.parts.timers.now() + RESUBSCRIBE_DELAY_MS, () => {
      this.timer = undefined;
      if (this.closed) return;
      this.cursors.lostAll();
      for (const q of this.queries.values()) this.send(q);
    });
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    for (const q of this.queries.values()) q.stopLocal();
    this.queries.clear();
  }

  /** (Re)subscribe `q` on every ready connection, awaiting each one's answer. */
  private send(q: Query): void {
    const sub = this.resumable(q.sub);
    for (const conn of this.parts.connections()) {
      if (!conn.isReady()) continue;
      q.waiting.add(conn.url);
      conn.subscription(sub, true);
    }
  }

  private resumable(sub: ClientSubscription): ClientSubscription {
    const since = this.cursors.since(sub.id);
    return this.parts.relay === true ? { ...sub, since, relay: true } : { ...sub, since };
  }
}

/** A query's SUBSCRIBE answer: `[[partition, millis, ...], [scanned partition, ...]]`; undefined when unreadable. */
export function readAnswer(payload: Uint8Array | null): { marks: [number, number][]; scanned: number[] } | undefined {
  if (payload === null) return undefined;
  try {
    const v = unpackBody(payload);
    if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[0]) || !Array.isArray(v[1])) return undefined;
    const [flat, scanned] = v as [unknown[], unknown[]];
    const uint = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (flat.length % 2 !== 0 || !flat.every(uint) || !scanned.every(uint)) return undefined;
    const marks: [number, number][] = [];
    for (let i = 0; i < flat.length; i += 2) marks.push([flat[i] as number, flat[i + 1] as number]);
    return { marks, scanned: scanned as number[] };
  } catch {
    return undefined;
  }
}
