/**
 * The map store's data: per partition, named maps of versioned slots (live entries and
 * tombstones), held by the partition's owner and backups. It is also a migration
 * participant: it exports its partitions in bounded chunks, records changes while a
 * partition is being copied, and applies chunks, deltas and merges by last-writer-wins on
 * the slots' HLC versions, so the order in which copies and changes meet does not matter.
 * A delete leaves a tombstone, so a merge with a replica that still holds the old value
 * does not bring it back; tombstones older than the configured TTL are collected.
 */
import { FlotillaError } from '../core/errors.js';
import {
  compareVersions,
  decodeChanges,
  decodeRecords,
  DEFAULT_MAP,
  encodeChanges,
  encodeRecords,
  mapOfChange,
  recordSize,
  stampOf,
  versionOfChange,
  type KvChange,
  type KvEntry,
  type KvRecord,
  type KvSlot,
  type KvVersion,
} from './kv-codec.js';
import { type MergePolicies } from './merge-policy.js';
import { mergeRecords } from './kv-merge.js';
import { HitCounts } from './kv-hits.js';
import { NewestVersions } from './newest-versions.js';
import { MIGRATION_CHUNK_BYTES_MAX, type MigrationParticipant, type ParticipantRole, type ParticipantSide } from '../sharding/participant.js';

/** Name the map store carries in `MigrateData.service` and `ServiceRequest.service`. */
export const KV_SERVICE = 'kv';

/** The msgpack array header of a chunk or delta batch, at most. */
const BATCH_HEADER_BYTES = 5;

/** Changes recorded for one partition while it is being copied. */
interface Capture {
  depth: number;
  changes: KvChange[];
  bytes: number;
}

/** Options of a store. */
export interface KvStoreOptions {
  /** Largest value accepted, in bytes (from `KvConfig.valueBytesMax`). */
  readonly valueBytesMax: number;
  /** Most bytes of changes one partition records between two `takeDeltas`; beyond it the store throws FLO_QUEUE_FULL on writes. */
  readonly captureBytesMax: number;
  /** Called with the newest version of each applied chunk or delta batch (the node's HLC follows it). */
  readonly observeVersion?: (version: KvVersion) => void;
  /** Merge policies by map name (default: latest update wins everywhere). */
  readonly mergePolicies?: MergePolicies;
  /** The node's HLC millis now (after the clock followed a merge's versions): the arrival stamp of what a merge stores; undefined before the node runs. */
  readonly mergeStamp?: () => number | undefined;
  /** Called with the changes a merge stored (not those it kept out) and their arrival stamp. */
  readonly onMerged?: (partition: number, changes: readonly KvChange[], stamp: number) => void;
}

type Maps = Map<string, Map<string, KvSlot>>;

/** Per-partition named maps; the map store's migration participant. */
export class KvStore implements MigrationParticipant {
  readonly name = KV_SERVICE;
  readonly copiesData = true;
  private readonly partitions = new Map<number, Maps>();
  private readonly captures = new Map<number, Capture>();
  private readonly hits = new HitCounts();
  /** Per partition: the HLC millis of the newest tombstone collected here (deletes a replay from below it cannot show). */
  private readonly collected = new Map<number, number>();
  private readonly newest = new NewestVersions();

  constructor(private readonly options: KvStoreOptions) {}

  /** The live entry of `key` in `map` of `partition`, if present (a tombstone is absent). */
  get(partition: number, key: string, map: string = DEFAULT_MAP): KvEntry | undefined {
    const slot = this.slot(partition, map, key);
    return slot === undefined || slot.value === null ? undefined : (slot as KvEntry);
  }

  /** The slot of `key` (live or tombstone), if any. */
  slot(partition: number, map: string, key: string): KvSlot | undefined {
    return this.partitions.get(partition)?.get(map)?.get(key);
  }

  /**
   * Apply a change if it is newer than what is stored (live entry or tombstone). A delete
   * leaves a tombstone. Recorded for migrations when applied. True when it changed something.
   */
  apply(partition: number, change: KvChange): boolean {
    const map = mapOfChange(change);
    const version = versionOfChange(change);
    const current = this.slot(partition, map, change.key);
    if (current !== undefined && compareVersions(current.version, version) >= 0) return false;
    this.record(partition, change);
    this.slotsOf(partition, map).set(change.key, change.kind === 'put' ? change.entry : { value: null, version });
    this.newest.note(partition, map, version);
    if (change.kind === 'delete') this.hits.forget(partition, map, change.key);
    return true;
  }

  /** Count one read of a live entry (the owner's reads: what `higher-hits` compares). */
  hit(partition: number, map: string, key: string): void {
    if (this.get(partition, key, map) === undefined) return;
    this.hits.set(partition, map, key, this.hits.of(partition, map, key) + 1);
  }

  /** Reads counted for the entry of `key` here (0 when none). */
  hitsOf(partition: number, map: string, key: string): number {
    return this.hits.of(partition, map, key);
  }

  /** Live slots of `map` in `partition` whose keys start with `prefix`, in version order (oldest first). */
  liveWithPrefix(partition: number, map: string, prefix: string): [string, KvEntry][] {
    const slots = this.partitions.get(partition)?.get(map);
    if (slots === undefined) return [];
    const out: [string, KvEntry][] = [];
    for (const [key, slot] of slots) if (slot.value !== null && key.startsWith(prefix)) out.push([key, slot as KvEntry]);
    return out.sort((a, b) => compareVersions(a[1].version, b[1].version));
  }

  /** Live entries in `partition`: of one map, or of all of them. */
  partitionSize(partition: number, map?: string): number {
    const maps = this.partitions.get(partition);
    if (maps === undefined) return 0;
    const which = map === undefined ? [...maps.values()] : [maps.get(map)];
    let n = 0;
    for (const slots of which) for (const slot of slots?.values() ?? []) if (slot.value !== null) n++;
    return n;
  }

  /** Live entries over every partition held here (owned, backed up or arriving). */
  size(): number {
    let n = 0;
    for (const p of this.partitions.keys()) n += this.partitionSize(p);
    return n;
  }

  /** Tombstones over every partition held here. */
  tombstones(): number {
    let n = 0;
    for (const maps of this.partitions.values()) for (const slots of maps.values()) for (const slot of slots.values()) if (slot.value === null) n++;
    return n;
  }

  /** Names of the maps with a slot in `partition`. */
  mapNames(partition: number): string[] {
    return [...(this.partitions.get(partition)?.keys() ?? [])];
  }

  /**
   * Live entries of `map` in `partition` after key `after`, by key order, up to `bytesMax`
   * of keys and values (at least one entry); `more` when some were left.
   */
  entriesPage(partition: number, map: string, after: string | null, bytesMax: number): { entries: [string, Uint8Array][]; more: boolean } {
    const slots = this.partitions.get(partition)?.get(map);
    if (slots === undefined) return { entries: [], more: false };
    const keys = [...slots.keys()].filter((k) => (after === null || k > after) && slots.get(k)!.value !== null).sort();
    const entries: [string, Uint8Array][] = [];
    let bytes = 0;
    for (const key of keys) {
      const value = slots.get(key)!.value!;
      if (entries.length > 0 && bytes + key.length * 3 + value.byteLength > bytesMax) return { entries, more: true };
      entries.push([key, value]);
      bytes += key.length * 3 + value.byteLength;
    }
    return { entries, more: false };
  }

  /**
   * Drop tombstones written before `beforeMillis` (HLC millis). After that, an older put
   * of the key that was still travelling (a merge from a split longer than the TTL) would
   * bring the key back: the TTL bounds both the memory and that window. Returns how many.
   */
  collectTombstones(beforeMillis: number): number {
    let n = 0;
    for (const [p, maps] of this.partitions) {
      // A partition being copied keeps its tombstones until the copy is over.
      if (this.captures.has(p)) continue;
      for (const [name, slots] of maps) {
        for (const [key, slot] of slots) {
          // A tombstone a merge brought keeps the TTL from its arrival, so subscribers get that long to see it.
          if (slot.value === null && stampOf(slot) < beforeMillis) {
            slots.delete(key);
            this.collected.set(p, Math.max(this.collected.get(p) ?? 0, stampOf(slot)));
            n++;
          }
        }
        if (slots.size === 0) maps.delete(name);
      }
    }
    return n;
  }

  /** The HLC millis of the newest tombstone of `partition` collected on this node, if any. */
  collectedUpTo(partition: number): number | undefined {
    return this.collected.get(partition);
  }

  /** The HLC millis of the newest slot held for `partition` (any map, arrivals by merge counted), if any. */
  newestMillis(partition: number): number | undefined {
    let newest: number | undefined;
    for (const slots of this.partitions.get(partition)?.values() ?? []) for (const slot of slots.values()) if (newest === undefined || stampOf(slot) > newest) newest = stampOf(slot);
    return newest;
  }

  /**
   * Every slot of `map` in `partition` (live and tombstones) whose stamp (its version, or
   * its arrival by merge when later: `stampOf`) is above `afterMillis` and whose key passes `match`.
   */
  slotsAbove(partition: number, map: string, afterMillis: number, match: (key: string) => boolean): [string, KvSlot][] {
    const out: [string, KvSlot][] = [];
    for (const [key, slot] of this.partitions.get(partition)?.get(map) ?? []) if (stampOf(slot) > afterMillis && match(key)) out.push([key, slot]);
    return out;
  }

  /** Partitions with data here, ascending. */
  heldPartitions(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  async *exportChunks(partition: number): AsyncIterable<Uint8Array> {
    const maps = this.partitions.get(partition);
    if (maps === undefined) return;
    let batch: KvRecord[] = [];
    let bytes = BATCH_HEADER_BYTES;
    // Iterating the live maps is safe: changes made meanwhile are captured as deltas, and
    // applying a slot twice is harmless.
    for (const [map, slots] of maps) {
      for (const [key, stored] of slots) {
        const hits = this.hitsOf(partition, map, key);
        const slot = hits === 0 ? stored : { ...stored, hits };
        const size = recordSize(map, key, slot);
        if (batch.length > 0 && bytes + size > MIGRATION_CHUNK_BYTES_MAX) {
          yield encodeRecords(batch);
          batch = [];
          bytes = BATCH_HEADER_BYTES;
        }
        batch.push({ map, key, slot });
        bytes += size;
      }
    }
    if (batch.length > 0) yield encodeRecords(batch);
  }

  beginCapture(partition: number): void {
    const capture = this.captures.get(partition);
    if (capture !== undefined) capture.depth++;
    else this.captures.set(partition, { depth: 1, changes: [], bytes: 0 });
  }

  takeDeltas(partition: number): Uint8Array[] {
    const capture = this.captures.get(partition);
    if (capture === undefined || capture.changes.length === 0) return [];
    const out: Uint8Array[] = [];
    let batch: KvChange[] = [];
    let bytes = BATCH_HEADER_BYTES;
    for (const change of capture.changes) {
      const size = changeSize(change);
      if (batch.length > 0 && bytes + size > MIGRATION_CHUNK_BYTES_MAX) {
        out.push(encodeChanges(batch));
        batch = [];
        bytes = BATCH_HEADER_BYTES;
      }
      batch.push(change);
      bytes += size;
    }
    if (batch.length > 0) out.push(encodeChanges(batch));
    capture.changes = [];
    capture.bytes = 0;
    return out;
  }

  endCapture(partition: number): void {
    const capture = this.captures.get(partition);
    if (capture === undefined) return;
    if (--capture.depth <= 0) this.captures.delete(partition);
  }

  applyChunk(partition: number, bytes: Uint8Array): void {
    const records = decodeRecords(bytes, this.options.valueBytesMax);
    this.partitionOf(partition);
    let newest: KvVersion | undefined;
    for (const { map, key, slot } of records) {
      const slots = this.slotsOf(partition, map);
      const current = slots.get(key);
      if (current === undefined || compareVersions(current.version, slot.version) < 0) {
        slots.set(key, { value: slot.value, version: slot.version });
        this.newest.note(partition, map, slot.version);
      }
      this.hits.raise(partition, map, key, slot.hits ?? 0);
      if (newest === undefined || compareVersions(newest, slot.version) < 0) newest = slot.version;
    }
    if (newest !== undefined) this.options.observeVersion?.(newest);
  }

  applyDelta(partition: number, bytes: Uint8Array): void {
    const changes = decodeChanges(bytes, this.options.valueBytesMax);
    this.partitionOf(partition);
    let newest: KvVersion | undefined;
    for (const change of changes) {
      this.apply(partition, change);
      const v = versionOfChange(change);
      if (newest === undefined || compareVersions(newest, v) < 0) newest = v;
    }
    if (newest !== undefined) this.options.observeVersion?.(newest);
  }

  finalize(partition: number, role: ParticipantRole): void {
    if (role === 'none') this.dropPartition(partition);
    else this.partitionOf(partition);
  }

  cancel(partition: number, side: ParticipantSide): void {
    if (side === 'destination') this.dropPartition(partition);
  }

  private dropPartition(partition: number): void {
    this.partitions.delete(partition);
    this.hits.dropPartition(partition);
    this.newest.drop(partition);
  }

  /** At least the newest version stored in `map` of `partition` (undefined: nothing ever stored), without a scan. */
  newestVersion(partition: number, map: string): KvVersion | undefined {
    return this.newest.of(partition, map);
  }

  /** At least the HLC millis of the newest slot of `partition` (any map): `newestMillis` without a scan. */
  newestMillisBound(partition: number): number | undefined {
    return this.newest.millisBound(partition);
  }

  /** Reconcile another side's records after a split (see kv-merge.ts). */
  merge(partition: number, bytes: Uint8Array): void {
    this.partitionOf(partition);
    mergeRecords(this, this.options, partition, decodeRecords(bytes, this.options.valueBytesMax));
  }

  /** A merge met the entry with `n` reads on the other side: the busier count stays. */
  raiseHits(partition: number, map: string, key: string, n: number): void {
    this.hits.raise(partition, map, key, n);
  }

  /** Record that a merge stored `key` at HLC millis `stamp` (see `KvSlot.arrived`). */
  stampArrival(partition: number, map: string, key: string, stamp: number): void {
    const slots = this.slotsOf(partition, map);
    const slot = slots.get(key);
    if (slot === undefined || slot.version.millis >= stamp) return;
    slots.set(key, { ...slot, arrived: stamp });
    // The watch's bound of what is new: the arrival counts as a version at the stamp.
    this.newest.note(partition, map, { millis: stamp, counter: 0, node: '' });
  }

  private partitionOf(partition: number): Maps {
    let maps = this.partitions.get(partition);
    if (maps === undefined) {
      maps = new Map();
      this.partitions.set(partition, maps);
    }
    return maps;
  }

  private slotsOf(partition: number, map: string): Map<string, KvSlot> {
    const maps = this.partitionOf(partition);
    let slots = maps.get(map);
    if (slots === undefined) {
      slots = new Map();
      maps.set(map, slots);
    }
    return slots;
  }

  private record(partition: number, change: KvChange): void {
    const capture = this.captures.get(partition);
    if (capture === undefined) return;
    const size = changeSize(change);
    if (capture.bytes + size > this.options.captureBytesMax) {
      throw new FlotillaError('FLO_QUEUE_FULL', `partition ${partition} has ${capture.bytes} bytes of changes waiting to migrate`, { partition });
    }
    capture.changes.push(change);
    capture.bytes += size;
  }
}

function changeSize(change: KvChange): number {
  // A change adds its kind (1 byte) to a record's layout.
  return recordSize(mapOfChange(change), change.key, change.kind === 'put' ? change.entry : { value: null, version: change.version }) + 1;
}
