/**
 * A named map as callers see it (`node.getMap(name)`): each call is routed to its key's
 * partition owner, which versions the write with its HLC and replicates it to the
 * backups before acknowledging it.
 */
import type { RouteOptions } from '../sharding/service.js';
import { checkKey, checkMapName, decodeValue, encodeValue, type KvChange, type KvValue } from './kv-codec.js';
import type { ChangeMark, Replay, ReplayFilter } from './change-replay.js';
import type { KvOp } from './map-ops.js';
import type { RelayHandle, RelaySink } from './watch-relay.js';

/** What a map needs from the map service: one routed operation, and the whole-map scans. */
export interface MapRouter {
  /** Check the encoded size against the configured bound. @throws FLO_INVALID_ARGUMENT */
  checkValueSize(bytes: Uint8Array): void;
  run(key: string, op: KvOp, options?: RouteOptions): Promise<Uint8Array | undefined>;
  runBoolean(key: string, op: KvOp, options?: RouteOptions): Promise<boolean>;
  size(map: string): Promise<number>;
  entries(map: string): Promise<[string, Uint8Array][]>;
  /** Subscribe to the changes this node acknowledges as owner; returns the unsubscribe function. */
  onChange?(listener: ChangeListener): () => void;
  /** The changes of a subscription held here above a cursor, and the marks of partitions owned here. */
  replay?(filter: ReplayFilter, since: ReadonlyMap<number, number> | null): Replay;
  /** Relay the changes of `partitions` (owned elsewhere) from their owners, above `since` (watch-relay.ts). */
  relay?(filter: ReplayFilter & { readonly filter?: unknown }, partitions: readonly number[], since: ReadonlyMap<number, number> | null, sink: RelaySink, caughtUpWithinMs?: number): RelayHandle;
}

/** Told of a change this node acknowledged as owner, with its partition's resume mark. */
export type ChangeListener = (change: KvChange, mark: ChangeMark) => void;

/** A named last-writer-wins map spread over the cluster's partitions. */
export class GridMap<V extends KvValue = KvValue> {
  readonly name: string;

  /** @throws FlotillaError FLO_INVALID_ARGUMENT for a bad map name. */
  constructor(
    name: string,
    private readonly router: MapRouter,
  ) {
    this.name = checkMapName(name);
  }

  /** Store `value` under `key`; resolves once the owner and (in sync backup mode) every backup hold it. */
  async set(key: string, value: V, options?: RouteOptions): Promise<void> {
    const bytes = encodeValue(value);
    this.router.checkValueSize(bytes);
    await this.router.run(key, { op: 'put', map: this.name, key: checkKey(key), value: bytes }, options);
  }

  /** The value under `key`, or undefined. */
  async get(key: string, options?: RouteOptions): Promise<V | undefined> {
    const bytes = await this.router.run(key, { op: 'get', map: this.name, key: checkKey(key) }, options);
    return bytes === undefined ? undefined : (decodeValue(bytes) as V);
  }

  /** Remove `key` (leaving a tombstone); true when it was there. */
  delete(key: string, options?: RouteOptions): Promise<boolean> {
    return this.router.runBoolean(key, { op: 'delete', map: this.name, key: checkKey(key) }, options);
  }

  /** Live entries in the whole map, each partition counted at its owner. */
  size(): Promise<number> {
    return this.router.size(this.name);
  }

  /** Every live entry, read from each partition's owner; ordered by partition, then key. */
  async entries(): Promise<[string, V][]> {
    const raw = await this.router.entries(this.name);
    return raw.map(([key, bytes]) => [key, decodeValue(bytes) as V]);
  }
}
