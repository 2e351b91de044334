/**
 * A named OR-map (`node.getOrMap(name)`): several values per key, with observed-remove
 * semantics. `add` tags each added value uniquely; `remove` drops the adds of a value that
 * the key's owner holds at that moment, so an add it never saw (made concurrently, or on
 * the other side of a split) survives, and a merge is the union of adds minus the union of
 * removes. Each call is routed to the key's owner and acknowledged like a map write.
 */
import type { RouteOptions } from '../sharding/service.js';
import { decodeValue, encodeValue, readBin, unpack, type KvValue } from './kv-codec.js';
import type { MapRouter } from './grid-map.js';
import { checkOrKey, orMapStoreName } from './or-map-keys.js';

/** A named observed-remove map spread over the cluster's partitions. */
export class GridOrMap<V extends KvValue = KvValue> {
  readonly name: string;

  /** @throws FlotillaError FLO_INVALID_ARGUMENT for a bad map name. */
  constructor(
    name: string,
    private readonly router: MapRouter,
  ) {
    orMapStoreName(name);
    this.name = name;
  }

  /** Add `value` under `key` (a value already there gets one more tag); resolves once the owner and backups hold it. */
  async add(key: string, value: V, options?: RouteOptions): Promise<void> {
    const bytes = encodeValue(value);
    this.router.checkValueSize(bytes);
    await this.router.run(key, { op: 'orAdd', map: this.name, key: checkOrKey(key), value: bytes }, options);
  }

  /** Remove `value` from `key` (every add of it the owner holds); resolves with how many adds were removed. */
  async remove(key: string, value: V, options?: RouteOptions): Promise<number> {
    const bytes = encodeValue(value);
    return countOf(await this.router.run(key, { op: 'orRemove', map: this.name, key: checkOrKey(key), value: bytes }, options));
  }

  /** Remove every value of `key` the owner holds; resolves with how many adds were removed. */
  async removeAll(key: string, options?: RouteOptions): Promise<number> {
    return countOf(await this.router.run(key, { op: 'orRemove', map: this.name, key: checkOrKey(key), value: null }, options));
  }

  /** The distinct values under `key`, oldest add first (empty when none). */
  async get(key: string, options?: RouteOptions): Promise<V[]> {
    return decodeValues(await this.router.run(key, { op: 'orGet', map: this.name, key: checkOrKey(key) }, options)) as V[];
  }
}

/** An `orGet` answer: an array of encoded values. */
export function decodeValues(bytes: Uint8Array | undefined): KvValue[] {
  const raw = bytes === undefined ? [] : unpack(bytes, 'values');
  if (!Array.isArray(raw)) return [];
  return raw.map((b) => decodeValue(readBin(b, 'value', Number.MAX_SAFE_INTEGER)));
}

function countOf(bytes: Uint8Array | undefined): number {
  const n = bytes === undefined ? 0 : unpack(bytes, 'count');
  return typeof n === 'number' ? n : 0;
}
