/**
 * The KV store's data: one in-memory map per partition of versioned entries, held by the
 * partition's owner and backups. It is also a migration participant: it exports its
 * partitions in bounded chunks, records changes while a partition is being copied, and
 * applies chunks, deltas and merges by last-writer-wins on the entries' HLC versions, so
 * the order in which copies and changes meet does not matter for puts.
 */
import { FlotillaError } from '../core/errors.js';
import {
  compareVersions,
  decodeChanges,
  decodeEntries,
  encodeChanges,
  encodeEntries,
  entrySize,
  type KvChange,
  type KvEntry,
  type KvVersion,
} from './kv-codec.js';
import { MIGRATION_CHUNK_BYTES_MAX, type MigrationParticipant, type ParticipantRole, type ParticipantSide } from '../sharding/participant.js';

/** Name the KV store carries in `MigrateData.service` and `ServiceRequest.service`. */
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
}

/** Per-partition versioned maps; the KV store's migration participant. */
export class KvStore implements MigrationParticipant {
  readonly name = KV_SERVICE;
  private readonly partitions = new Map<number, Map<string, KvEntry>>();
  private readonly captures = new Map<number, Capture>();

  constructor(private readonly options: KvStoreOptions) {}

  /** The entry of `key` in `partition`, if present. */
  get(partition: number, key: string): KvEntry | undefined {
    return this.partitions.get(partition)?.get(key);
  }

  /**
   * Apply a change if it is newer than what is stored (a put older than the entry is
   * dropped; a delete removes an entry no newer than itself). Recorded for migrations
   * when applied. True when it changed something.
   */
  apply(partition: number, change: KvChange): boolean {
    const map = this.partitions.get(partition);
    const current = map?.get(change.key);
    if (change.kind === 'put') {
      if (current !== undefined && compareVersions(current.version, change.entry.version) >= 0) return false;
      this.record(partition, change);
      this.mapOf(partition).set(change.key, change.entry);
      return true;
    }
    if (current === undefined || compareVersions(current.version, change.version) > 0) return false;
    this.record(partition, change);
    map!.delete(change.key);
    return true;
  }

  /** Entries in `partition`. */
  partitionSize(partition: number): number {
    return this.partitions.get(partition)?.size ?? 0;
  }

  /** Entries over every partition held here (owned, backed up or arriving). */
  size(): number {
    let n = 0;
    for (const map of this.partitions.values()) n += map.size;
    return n;
  }

  /** Partitions with a map here, ascending. */
  heldPartitions(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  async *exportChunks(partition: number): AsyncIterable<Uint8Array> {
    const map = this.partitions.get(partition);
    if (map === undefined) return;
    let batch: [string, KvEntry][] = [];
    let bytes = BATCH_HEADER_BYTES;
    // Iterating the live map is safe: changes made meanwhile are captured as deltas, and
    // applying an entry twice is harmless.
    for (const [key, entry] of map) {
      const size = entrySize(key, entry);
      if (batch.length > 0 && bytes + size > MIGRATION_CHUNK_BYTES_MAX) {
        yield encodeEntries(batch);
        batch = [];
        bytes = BATCH_HEADER_BYTES;
      }
      batch.push([key, entry]);
      bytes += size;
    }
    if (batch.length > 0) yield encodeEntries(batch);
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
    const entries = decodeEntries(bytes, this.options.valueBytesMax);
    const map = this.mapOf(partition);
    let newest: KvVersion | undefined;
    for (const [key, entry] of entries) {
      const current = map.get(key);
      if (current === undefined || compareVersions(current.version, entry.version) < 0) map.set(key, entry);
      if (newest === undefined || compareVersions(newest, entry.version) < 0) newest = entry.version;
    }
    if (newest !== undefined) this.options.observeVersion?.(newest);
  }

  applyDelta(partition: number, bytes: Uint8Array): void {
    const changes = decodeChanges(bytes, this.options.valueBytesMax);
    this.mapOf(partition);
    let newest: KvVersion | undefined;
    for (const change of changes) {
      this.apply(partition, change);
      const v = change.kind === 'put' ? change.entry.version : change.version;
      if (newest === undefined || compareVersions(newest, v) < 0) newest = v;
    }
    if (newest !== undefined) this.options.observeVersion?.(newest);
  }

  finalize(partition: number, role: ParticipantRole): void {
    if (role === 'none') this.partitions.delete(partition);
    else this.mapOf(partition);
  }

  cancel(partition: number, side: ParticipantSide): void {
    if (side === 'destination') this.partitions.delete(partition);
  }

  /**
   * Last writer wins by HLC version, entry by entry. Applied as changes, so a merge that
   * lands while the partition is being copied away also reaches the destination.
   */
  merge(partition: number, bytes: Uint8Array): void {
    const entries = decodeEntries(bytes, this.options.valueBytesMax);
    this.mapOf(partition);
    let newest: KvVersion | undefined;
    for (const [key, entry] of entries) {
      this.apply(partition, { kind: 'put', key, entry });
      if (newest === undefined || compareVersions(newest, entry.version) < 0) newest = entry.version;
    }
    if (newest !== undefined) this.options.observeVersion?.(newest);
  }

  private mapOf(partition: number): Map<string, KvEntry> {
    let map = this.partitions.get(partition);
    if (map === undefined) {
      map = new Map();
      this.partitions.set(partition, map);
    }
    return map;
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
  // A change adds its kind (1 byte) and, for a delete, a nil value to an entry's layout.
  return change.kind === 'put' ? entrySize(change.key, change.entry) + 1 : entrySize(change.key, { value: EMPTY, version: change.version }) + 2;
}

const EMPTY = new Uint8Array(0);
