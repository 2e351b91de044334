/**
 * Live queries on the gateway: a subscription with a filter on values. Every change of
 * the map becomes, for the query, either the entry (it matches: it entered or changed
 * within the result) or a leave (a delete, or a value that no longer matches: an EVENT
 * with nil). The gateway keeps no copy of anyone's result: which keys a client holds is
 * the client's business, so a node that gains a partition needs no state to cover it,
 * and one that loses it simply stops acknowledging its writes.
 *
 * The initial result is the replay of the partitions this node owns: those the client's
 * cursor does not list are scanned whole and only their matching entries are sent; those
 * it lists replay above the cursor, leaves included (the client may hold those keys). The answer tells
 * the client which owned partitions were scanned whole, so it can drop what it holds
 * there that the scan did not send (an entry that left while nobody told it).
 */
import type { KvChange } from '../grid/kv-codec.js';
import type { Replay } from '../grid/change-replay.js';
import { asQueryChange } from '../grid/query-changes.js';
import { compileFilter, parseFilter, type FilterPredicate } from '../protocol/query-filter.js';
import { packBody } from '../protocol/msgpack.js';

export { asQueryChange, inResult, lazyValue } from '../grid/query-changes.js';

/** @throws FLO_INVALID_ARGUMENT for a bad filter. */
export function compileQuery(filter: unknown): FilterPredicate {
  return compileFilter(parseFilter(filter));
}

/**
 * The replay's changes the query sends: matches everywhere, leaves only where the cursor
 * listed the partition. And the answer: `[[partition, millis, ...], [scanned partition, ...]]`.
 */
export function queryReplay(predicate: FilterPredicate, replay: Replay, since: ReadonlyMap<number, number>): { changes: KvChange[]; answer: Uint8Array; marks: number[]; scanned: number[] } {
  const changes: KvChange[] = [];
  // Backups' copies are left out: the owner's answer speaks for the partition, and each
  // value sent costs a decode here (the bulk of a scan's time).
  const owned = new Set(replay.owned);
  for (const { change, partition } of replay.changes) {
    if (!owned.has(partition)) continue;
    const seen = asQueryChange(predicate, change);
    if (seen.kind === 'put' || since.has(partition)) changes.push(seen);
  }
  const scanned = replay.owned.filter((p) => !since.has(p));
  const marks = replay.marks.flatMap((m) => [m.partition, m.millis]);
  return { changes, answer: new Uint8Array(packBody([marks, scanned])), marks, scanned };
}
