/**
 * A named map as the client sees it: writes apply locally at once and resolve when the
 * cluster acknowledged them; reads go to the key's owner (or come from the local copy
 * while a write of the key is pending, or while no node is reachable); `subscribe`
 * tells of changes this client makes or observes.
 */
import { FlotillaError } from '../core/errors.js';
import { decodeWriteAnswer } from './answers.js';
import { checkKeyName, checkMapName } from './names.js';
import type { KvValue } from '../protocol/map-values.js';
import type { MapListener } from './local-store.js';
import type { SubscriptionFilter } from './subscriptions.js';
import type { QueryFilter } from '../protocol/query-filter.js';
import type { LiveQuery } from './live-queries.js';
import type { QueryListener } from './query-result.js';

/** What a map handle needs from its client. */
export interface MapBackend {
  write(map: string, key: string, value: KvValue | undefined): Promise<Uint8Array | null>;
  read(map: string, key: string): Promise<KvValue | undefined>;
  entries(map: string): Promise<[string, KvValue][]>;
  size(map: string): Promise<number>;
  subscribe(map: string, listener: MapListener, filter?: SubscriptionFilter): () => void;
  query(map: string, filter: QueryFilter, listener?: QueryListener): LiveQuery;
}

/** A named map of the cluster, through the smart client. */
export class ClientMap<V extends KvValue = KvValue> {
  readonly name: string;

  constructor(
    name: string,
    private readonly backend: MapBackend,
  ) {
    this.name = checkMapName(name);
  }

  /** Set `key` to `value`: visible to this client at once; resolves once the cluster acknowledged it. */
  set(key: string, value: V): Promise<void> {
    // Not async: one promise per set fewer on the hot path; a bad key still rejects.
    try {
      return this.backend.write(this.name, checkKeyName(key), value).then(acknowledged);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The value of `key` (undefined when absent). */
  async get(key: string): Promise<V | undefined> {
    return (await this.backend.read(this.name, checkKeyName(key))) as V | undefined;
  }

  /** Delete `key`: gone for this client at once; resolves once acknowledged, true when the cluster held it. */
  async delete(key: string): Promise<boolean> {
    return decodeWriteAnswer(await this.backend.write(this.name, checkKeyName(key), undefined)).deleted;
  }

  /** Every entry: from the cluster when a node is reachable (with this client's pending writes on top), else the local copy. */
  async entries(): Promise<[string, V][]> {
    return (await this.backend.entries(this.name)) as [string, V][];
  }

  /** Entries in the whole map (from the cluster; the local copy's count while offline). */
  size(): Promise<number> {
    return this.backend.size(this.name);
  }

  /**
   * Calls `listener` on each change of the map (or of one `key`, or of keys starting with
   * `prefix`): this client's writes at once, other writers' as the owners report them
   * (and reads and resyncs that find a changed value). Returns the unsubscribe function.
   */
  subscribe(listener: MapListener<V>, filter: SubscriptionFilter = {}): () => void {
    if (filter.key !== undefined) checkKeyName(filter.key);
    if (filter.prefix !== undefined) checkKeyName(filter.prefix);
    if (filter.key !== undefined && filter.prefix !== undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'subscribe to a key or a prefix, not both');
    return this.backend.subscribe(this.name, listener as MapListener, filter);
  }

  /**
   * A live query: the entries whose key and value match `filter`, kept current. The
   * handle's `entries()` is the result as this client knows it; `listener` hears each key
   * that enters, changes within, or leaves the result (this client's writes at once).
   * @throws FLO_INVALID_ARGUMENT for a bad filter, FLO_QUEUE_FULL past the client's bound.
   */
  query(filter: QueryFilter, listener?: QueryListener<V>): LiveQuery<V> {
    return this.backend.query(this.name, filter, listener as QueryListener | undefined) as LiveQuery<V>;
  }
}

function acknowledged(): void {}
