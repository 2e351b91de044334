/**
 * A split-brain merge into the map store: another side's records reconciled slot by slot
 * by each map's merge policy (latest update wins by default, tombstones included, so a
 * delete newer than the other side's value wins). Applied as changes, so a merge that
 * lands while the partition is being copied away also reaches the destination. What it
 * stores is stamped with its arrival on this node and reported, so subscribers hear of it.
 */
import { compareVersions, DEFAULT_MAP, type KvChange, type KvEntry, type KvRecord, type KvSlot, type KvVersion } from './kv-codec.js';
import type { KvStoreOptions } from './kv-store.js';
import { mergeSlot } from './merge-policy.js';

/** What a merge needs of the store. */
export interface MergeTarget {
  slot(partition: number, map: string, key: string): KvSlot | undefined;
  get(partition: number, key: string, map: string): KvEntry | undefined;
  hitsOf(partition: number, map: string, key: string): number;
  apply(partition: number, change: KvChange): boolean;
  raiseHits(partition: number, map: string, key: string, n: number): void;
  stampArrival(partition: number, map: string, key: string, stamp: number): void;
}

type MergeOptions = Pick<KvStoreOptions, 'mergePolicies' | 'observeVersion' | 'mergeStamp' | 'onMerged'>;

export function mergeRecords(target: MergeTarget, options: MergeOptions, partition: number, records: readonly KvRecord[]): void {
  let newest: KvVersion | undefined;
  for (const { slot } of records) if (newest === undefined || compareVersions(newest, slot.version) < 0) newest = slot.version;
  if (newest !== undefined) options.observeVersion?.(newest);
  // Taken once the clock followed the incoming versions, so it is above every cursor handed out before.
  const stamp = records.length > 0 ? options.mergeStamp?.() : undefined;
  const stored: KvChange[] = [];
  for (const { map, key, slot: incoming } of records) {
    const slot = mergedSlot(target, options, partition, map, key, incoming);
    if (slot !== undefined) {
      const named = map === DEFAULT_MAP ? {} : { map };
      const change: KvChange = slot.value === null ? { kind: 'delete', ...named, key, version: slot.version } : { kind: 'put', ...named, key, entry: { value: slot.value, version: slot.version } };
      if (target.apply(partition, change)) {
        stored.push(change);
        if (stamp !== undefined) target.stampArrival(partition, map, key, stamp);
      }
    }
    // The merged entry counts the reads of both sides' busier copy.
    if (target.get(partition, key, map) !== undefined) target.raiseHits(partition, map, key, incoming.hits ?? 0);
  }
  if (stamp !== undefined && stored.length > 0) options.onMerged?.(partition, stored, stamp);
}

/** The slot a merge stores for one incoming record, or undefined to keep what is here. */
function mergedSlot(target: MergeTarget, options: MergeOptions, partition: number, map: string, key: string, incoming: KvSlot): KvSlot | undefined {
  const policy = options.mergePolicies?.[map] ?? 'latest-update';
  if (policy === 'latest-update') return incoming;
  try {
    const existing = target.slot(partition, map, key);
    const hits = target.hitsOf(partition, map, key);
    return mergeSlot(policy, key, existing === undefined || hits === 0 ? existing : { ...existing, hits }, incoming);
  } catch {
    // A merge function that throws (or returns what cannot be encoded) keeps this side's entry.
    return undefined;
  }
}
