/**
 * The client's view of the partition map: which node owns each key's partition, the
 * map's version, when it was last confirmed, and whether a node told us ours is behind.
 * Maps arrive pushed by gateways (on connect and on every change) or on request; an
 * older version never replaces a newer one.
 */
import { partitionOf } from '../core/partition.js';
import type { ClientNode, ClientPartitionMap } from '../protocol/client-frames.js';

/** `FlotillaClient.getClusterStats()`. */
export interface ClusterStats {
  /** Version of the partition table the client routes by (0 before the first map). */
  readonly mapVersion: number;
  /** Partitions in that map (0 before the first). */
  readonly partitionCount: number;
  /** Nodes in that map that serve clients. */
  readonly nodeCount: number;
  /** When a gateway last sent or confirmed the map (the client's clock, ms); 0 before the first. */
  readonly lastRefresh: number;
  /** No map yet, a node reported a newer table, or the map was not confirmed within `staleAfterMs`. */
  readonly isStale: boolean;
}

/** The partition map and its freshness. */
export class RoutingTable {
  private map: ClientPartitionMap | undefined;
  private lastRefresh = 0;
  private newerSeen = 0;

  /** Take `map` unless it is older than the one held; true when it was taken. */
  accept(map: ClientPartitionMap, now: number): boolean {
    if (this.map !== undefined && map.version < this.map.version) return false;
    this.map = map;
    this.lastRefresh = now;
    return true;
  }

  /** A node reported table `version`: ours is stale when it is older. */
  noteVersion(version: number | null): boolean {
    if (version === null || version <= (this.map?.version ?? 0)) return false;
    this.newerSeen = Math.max(this.newerSeen, version);
    return true;
  }

  version(): number {
    return this.map?.version ?? 0;
  }

  /** The owner of `key`'s partition, if the map names a reachable one. */
  ownerOf(key: string): ClientNode | undefined {
    const map = this.map;
    if (map === undefined) return undefined;
    const index = map.owners[partitionOf(key, map.partitionCount)] ?? -1;
    return index < 0 ? undefined : map.nodes[index];
  }

  /** Every node in the map. */
  nodes(): readonly ClientNode[] {
    return this.map?.nodes ?? [];
  }

  stats(now: number, staleAfterMs: number): ClusterStats {
    const map = this.map;
    const isStale = map === undefined || this.newerSeen > map.version || now - this.lastRefresh > staleAfterMs;
    return { mapVersion: map?.version ?? 0, partitionCount: map?.partitionCount ?? 0, nodeCount: map?.nodes.length ?? 0, lastRefresh: this.lastRefresh, isStale };
  }
}
