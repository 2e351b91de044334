/**
 * Replay of map changes for resumable subscriptions: from the map state this node holds
 * (entries and tombstones with their versions), the latest change of every key of a
 * subscription's map, key or prefix stored above the subscriber's cursor for its
 * partition (or stored there by a split-brain merge after it), and the marks of the
 * partitions this node owns. Replay gives each key's
 * latest value only (earlier values of one key coalesce), so it is safe to repeat: a
 * subscriber drops what it has already seen.
 */
import type { KvChange, KvSlot } from './kv-codec.js';
import { DEFAULT_MAP } from './kv-codec.js';
import type { KvStore } from './kv-store.js';

/** What a subscription covers. */
export interface ReplayFilter {
  readonly map: string;
  readonly key: string | null;
  readonly prefix: string | null;
}

/** A partition's resume mark (see `KvHandlers.markOf`), under the ownership epoch it holds for. */
export interface ChangeMark {
  readonly partition: number;
  readonly millis: number;
  /** The partition's epoch when the mark was taken: a mark speaks only for its owner's term. */
  readonly epoch: number;
}

/** The outcome of one replay. */
export interface Replay {
  /** Changes to send, each with its partition. */
  readonly changes: readonly { readonly change: KvChange; readonly partition: number }[];
  /** Marks of the partitions this node owns (those it has one for). */
  readonly marks: readonly ChangeMark[];
  /** Every partition this node owns, with a mark or not (a partition without data has none). */
  readonly owned: readonly number[];
  /** Partitions whose tombstones above the cursor were collected: deletes there cannot be replayed. */
  readonly lost: readonly number[];
}

/** Where a replay reads from. */
export interface ReplaySource {
  readonly store: Pick<KvStore, 'slotsAbove' | 'collectedUpTo'>;
  /** Partitions this node holds as owner or backup (a promoted backup holds every acknowledged write). */
  readonly held: readonly number[];
  readonly owns: (partition: number) => boolean;
  /** Every partition owned here, data or not (default: the owned ones of `held`). */
  readonly owned?: readonly number[];
  readonly markOf: (partition: number) => number | undefined;
  readonly epochOf: (partition: number) => number;
}

/**
 * Replay `filter`'s changes above `since` (partition to HLC millis; a partition it does
 * not list replays whole). `since` null: a fresh subscription, marks only.
 */
export function replayChanges(source: ReplaySource, filter: ReplayFilter, since: ReadonlyMap<number, number> | null): Replay {
  const marks: ChangeMark[] = [];
  const changes: { change: KvChange; partition: number }[] = [];
  const lost: number[] = [];
  const owned: number[] = [];
  const match = (key: string): boolean => (filter.key === null || key === filter.key) && (filter.prefix === null || key.startsWith(filter.prefix));
  for (const partition of source.held) {
    if (source.owns(partition)) {
      owned.push(partition);
      const millis = source.markOf(partition);
      if (millis !== undefined) marks.push({ partition, millis, epoch: source.epochOf(partition) });
    }
    if (since === null) continue;
    const cursor = since.get(partition) ?? -1;
    if ((source.store.collectedUpTo(partition) ?? -1) > cursor) lost.push(partition);
    // By arrival too: what a split-brain merge stored after the cursor was taken is news to the subscriber, however old its version.
    for (const [key, slot] of source.store.slotsAbove(partition, filter.map, cursor, match)) changes.push({ change: asChange(filter.map, key, slot), partition });
  }
  return { changes, marks, owned: source.owned ?? owned, lost };
}

/** A stored slot of `map` as the change that made it. */
export function asChange(map: string, key: string, slot: KvSlot): KvChange {
  const named = map === DEFAULT_MAP ? {} : { map };
  return slot.value === null ? { kind: 'delete', ...named, key, version: slot.version } : { kind: 'put', ...named, key, entry: { value: slot.value, version: slot.version } };
}
