/**
 * Reads per live entry on this node (partition, map, key): what the `higher-hits` merge
 * policy compares. Only the owner counts; counts travel with migrations and merges.
 */
export class HitCounts {
  private readonly byPartition = new Map<number, Map<string, Map<string, number>>>();

  /** Reads counted for `key` (0 when none). */
  of(partition: number, map: string, key: string): number {
    return this.byPartition.get(partition)?.get(map)?.get(key) ?? 0;
  }

  set(partition: number, map: string, key: string, n: number): void {
    let maps = this.byPartition.get(partition);
    if (maps === undefined) this.byPartition.set(partition, (maps = new Map()));
    let keys = maps.get(map);
    if (keys === undefined) maps.set(map, (keys = new Map()));
    keys.set(key, n);
  }

  /** Raise the count of `key` to `n` when that is higher. */
  raise(partition: number, map: string, key: string, n: number): void {
    if (n > this.of(partition, map, key)) this.set(partition, map, key, n);
  }

  /** The entry was deleted: its reads no longer count. */
  forget(partition: number, map: string, key: string): void {
    this.byPartition.get(partition)?.get(map)?.delete(key);
  }

  dropPartition(partition: number): void {
    this.byPartition.delete(partition);
  }
}
