/**
 * The wire form of the `kv.watch` long poll between nodes (watch-handler.ts answers it,
 * watch-relay.ts sends it): which map, key or prefix, and per partition the cursor above
 * which the caller wants changes; the answer gives, per partition, the changes and the
 * cursor to ask from next, or that this node does not own it. Every field from a peer is
 * checked; a malformed one fails with FLO_INVALID_ARGUMENT.
 */
import { PARTITION_COUNT_MAX } from '../protocol/limits.js';
import { bad, decodeChanges, encodeChanges, pack, readKey, readMapName, readUint, readVersion, unpack, type KvChange, type KvVersion } from './kv-codec.js';

/** Longest wait a poll may ask for, ms: a parked poll holds a request slot on the owner. */
export const WATCH_WAIT_MS_MAX = 60_000;

/**
 * A partition's cursor: HLC millis above which changes are wanted; `WHOLE` for every change
 * of the partition; null for none (start live: answer only the cursor to ask from next).
 */
export type WatchCursor = number | null;

/** The cursor of a partition replayed whole. */
export const WHOLE = -1;

/** One poll. */
export interface WatchRequest {
  readonly map: string;
  readonly key: string | null;
  readonly prefix: string | null;
  /** Partitions asked, with their cursors. */
  readonly cursors: ReadonlyMap<number, WatchCursor>;
  /**
   * Per partition, the newest version the caller already has: changes at or below it are
   * left out of the answer (the owner's own later writes are versioned above every version
   * it stored before, so they are never left out), so a change above the cursor is not
   * sent again with every answer.
   */
  readonly seen: ReadonlyMap<number, KvVersion>;
  /** How long the owner may hold the poll when nothing is above the cursors, ms (0: answer at once). */
  readonly waitMs: number;
  /**
   * A live query's filter (query-filter.ts, as decoded): changes come as the query sees
   * them (the entry, or a leave), and a partition asked whole sends its matches only.
   */
  readonly filter?: unknown;
}

/** One partition's part of an answer. */
export type WatchPart =
  | { readonly partition: number; readonly owned: false }
  | {
      readonly partition: number;
      readonly owned: true;
      /** Changes above the cursor asked, oldest first (each key's latest). */
      readonly changes: readonly KvChange[];
      /** Every change of the partition at or below it is in `changes` or was below the cursor asked. */
      readonly cursor: number;
      /** Tombstones above the cursor asked were collected: deletes there cannot be told. */
      readonly lost: boolean;
      /** False when the answer was cut short of the partition's mark: ask again for the rest. */
      readonly complete: boolean;
    };

/** An answer. */
export interface WatchAnswer {
  readonly parts: readonly WatchPart[];
  /** The owner holds as many parked polls as it may: the caller waits before asking again. */
  readonly busy: boolean;
}

/** `[map, key | nil, prefix | nil, [partition, cursor | nil, seen | nil, ...], waitMs, filter?]`, seen as `[millis, counter, node]`. */
export function encodeWatchRequest(r: WatchRequest): Uint8Array {
  const flat: unknown[] = [];
  for (const [p, cursor] of r.cursors) {
    const seen = r.seen.get(p);
    flat.push(p, cursor, seen === undefined ? null : [seen.millis, seen.counter, seen.node]);
  }
  const fields = [r.map, r.key, r.prefix, flat, r.waitMs];
  return pack(r.filter === undefined ? fields : [...fields, r.filter]);
}

/** @throws FLO_INVALID_ARGUMENT for anything malformed. */
export function decodeWatchRequest(bytes: Uint8Array): WatchRequest {
  const f = unpack(bytes, 'watch request');
  if (!Array.isArray(f) || (f.length !== 5 && f.length !== 6)) bad('a watch request is [map, key, prefix, cursors, waitMs, filter?]');
  const key = f[1] === null ? null : readKey(f[1]);
  const prefix = f[2] === null ? null : readKey(f[2]);
  if (key !== null && prefix !== null) bad('a watch has a key or a prefix, not both');
  const flat: unknown = f[3];
  if (!Array.isArray(flat) || flat.length % 3 !== 0 || flat.length === 0 || flat.length > 3 * PARTITION_COUNT_MAX) bad('watch cursors are partition, cursor, seen triples, at least one');
  const cursors = new Map<number, WatchCursor>();
  const seen = new Map<number, KvVersion>();
  for (let i = 0; i < flat.length; i += 3) {
    const partition = readUint(flat[i], 'watch partition');
    if (cursors.has(partition)) bad(`watch partition ${partition} listed twice`);
    cursors.set(partition, readCursor(flat[i + 1]));
    const version: unknown = flat[i + 2];
    if (version === null) continue;
    if (!Array.isArray(version) || version.length !== 3) bad('a seen version is [millis, counter, node]');
    seen.set(partition, readVersion(version as unknown[], 0));
  }
  const waitMs = readUint(f[4], 'watch waitMs');
  if (waitMs > WATCH_WAIT_MS_MAX) bad(`watch waitMs above ${WATCH_WAIT_MS_MAX}`);
  const request = { map: readMapName(f[0]), key, prefix, cursors, seen, waitMs };
  return f.length === 6 ? { ...request, filter: f[5] } : request;
}

function readCursor(v: unknown): WatchCursor {
  if (v === null) return null;
  if (v === WHOLE) return WHOLE;
  return readUint(v, 'watch cursor');
}

/** `[busy, [partition, owned, cursor | nil, changes | nil, lost, complete], ...]`. */
export function encodeWatchAnswer(a: WatchAnswer): Uint8Array {
  const parts = a.parts.map((p) => (p.owned ? [p.partition, true, p.cursor, encodeChanges(p.changes), p.lost, p.complete] : [p.partition, false, null, null, false, false]));
  return pack([a.busy, parts]);
}

/** @throws FLO_INVALID_ARGUMENT for anything malformed. */
export function decodeWatchAnswer(bytes: Uint8Array, valueBytesMax: number): WatchAnswer {
  const f = unpack(bytes, 'watch answer');
  if (!Array.isArray(f) || f.length !== 2 || typeof f[0] !== 'boolean' || !Array.isArray(f[1])) bad('a watch answer is [busy, parts]');
  const parts = (f[1] as unknown[]).map((v): WatchPart => {
    if (!Array.isArray(v) || v.length !== 6 || typeof v[1] !== 'boolean' || typeof v[4] !== 'boolean' || typeof v[5] !== 'boolean') bad('a watch part is [partition, owned, cursor, changes, lost, complete]');
    const partition = readUint(v[0], 'watch partition');
    if (!v[1]) return { partition, owned: false };
    if (!(v[3] instanceof Uint8Array)) bad('watch changes must be bytes');
    const cursor = readCursor(v[2]);
    if (cursor === null) bad('an owned watch part has a cursor');
    return { partition, owned: true, changes: decodeChanges(v[3], valueBytesMax), cursor, lost: v[4], complete: v[5] };
  });
  return { parts, busy: f[0] };
}
