/**
 * The client's view of the partition map: which node owns each key's partition, the
 * map's version, when it was last confirmed, and whether a node told us ours is behind.
 * Maps arrive pushed by gateways (on connect and on every change) or on request. During
 * a split both sides publish tables, and the read-only side's may carry the higher
 * version, so a map from a node that accepts writes beats a read-only node's map whatever
 * the versions; among maps of equal writability an older version never replaces a newer
 * one. The node that sent the held map may always replace it: its latest word on its own
 * verdict is the one that counts.
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
  /** Whether the node that sent that map accepts writes (false before the first map too). */
  readonly mapWritable: boolean;
  /** When a gateway last sent or confirmed the map (the client's clock, ms); 0 before the first. */
  readonly lastRefresh: number;
  /** No map yet, a node reported a newer table, or the map was not confirmed within `staleAfterMs`. */
  readonly isStale: boolean;
}

/** The partition map and its freshness. */
export class RoutingTable {
  private map: ClientPartitionMap | undefined;
  /** The URL of the node that sent `map`. */
  private from: string | undefined;
  /** `map.writable`, unless a write to `from` since answered FLO_READ_ONLY. */
  private writable = false;
  private lastRefresh = 0;
  private newerSeen = 0;

  /** Take `map`, sent by the node at `from`, unless the one held is better; true when it was taken. */
  accept(map: ClientPartitionMap, now: number, from: string): boolean {
    const held = this.map;
    if (held !== undefined) {
      const sameWritability = map.writable === this.writable;
      if (from !== this.from && this.writable && !map.writable) return false;
      if (sameWritability && map.version < held.version) return false;
    }
    this.map = map;
    this.from = from;
    this.writable = map.writable;
    this.lastRefresh = now;
    return true;
  }

  /**
   * A write sent to the node at `url` was refused with FLO_READ_ONLY: if the held map came
   * from it, it no longer counts as writable, so any writable node's map replaces it.
   * True when that changed the held map's standing.
   */
  noteReadOnly(url: string): boolean {
    if (url !== this.from || !this.writable) return false;
    this.writable = false;
    return true;
  }

  /** Whether the held map comes from a node that accepts writes. */
  isWritable(): boolean {
    return this.writable;
  }

  /** Whether `url` is a node of the held map (so, on a writable map, a node on the writable side). */
  hasNode(url: string): boolean {
    return this.map?.nodes.some((n) => n.url === url) ?? false;
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
    return {
      mapVersion: map?.version ?? 0,
      partitionCount: map?.partitionCount ?? 0,
      nodeCount: map?.nodes.length ?? 0,
      mapWritable: this.writable,
      lastRefresh: this.lastRefresh,
      isStale,
    };
  }
}
