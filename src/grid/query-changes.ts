/**
 * A change as a live query sees it: the entry when its value matches the query's filter
 * (it is in the result), else a leave at the change's version. Shared by the gateway
 * (live events, replays) and the map store's `kv.watch` (relayed queries).
 */
import type { FilterPredicate } from '../protocol/query-filter.js';
import { unpackBody } from '../protocol/msgpack.js';
import type { KvChange } from './kv-codec.js';

const UNREADABLE = Symbol('unreadable');

/** The value of a put, decoded at most once however many queries of its map ask. */
export function lazyValue(change: KvChange): () => unknown {
  let value: unknown = undefined;
  let done = false;
  return () => {
    if (done || change.kind !== 'put') return value;
    done = true;
    try {
      value = unpackBody(change.entry.value);
    } catch {
      // Stored values are msgpack; one that is not matches nothing.
      value = UNREADABLE;
    }
    return value;
  };
}

/** Whether `change` leaves the key in the query's result: a put whose value matches. */
export function inResult(predicate: FilterPredicate, change: KvChange, value: () => unknown = lazyValue(change)): boolean {
  if (change.kind !== 'put') return false;
  const v = value();
  return v !== UNREADABLE && predicate(change.key, v);
}

/** A change as the query sees it: itself when in the result, else a leave at its version. */
export function asQueryChange(predicate: FilterPredicate, change: KvChange, value?: () => unknown): KvChange {
  if (inResult(predicate, change, value)) return change;
  if (change.kind === 'delete') return change;
  const { entry, ...rest } = change;
  return { ...rest, kind: 'delete', version: entry.version };
}
