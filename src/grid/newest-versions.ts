/**
 * The newest version stored per partition and map on one node, kept as writes, chunks and
 * merges land (never lowered by a tombstone collection, so it is an upper bound): a long
 * poll (`kv.watch`) tells from it without a scan that a partition has nothing newer than
 * what its caller holds.
 */
import { compareVersions, type KvVersion } from './kv-codec.js';

/** Newest versions by partition and map. */
export class NewestVersions {
  private readonly byPartition = new Map<number, Map<string, KvVersion>>();

  note(partition: number, map: string, version: KvVersion): void {
    let maps = this.byPartition.get(partition);
    if (maps === undefined) this.byPartition.set(partition, (maps = new Map()));
    const held = maps.get(map);
    if (held === undefined || compareVersions(held, version) < 0) maps.set(map, version);
  }

  /** At least the newest version stored in `map` of `partition` (undefined: nothing ever stored). */
  of(partition: number, map: string): KvVersion | undefined {
    return this.byPartition.get(partition)?.get(map);
  }

  /** At least the HLC millis of the newest slot of `partition`, any map. */
  millisBound(partition: number): number | undefined {
    let millis: number | undefined;
    for (const v of this.byPartition.get(partition)?.values() ?? []) if (millis === undefined || v.millis > millis) millis = v.millis;
    return millis;
  }

  drop(partition: number): void {
    this.byPartition.delete(partition);
  }
}
