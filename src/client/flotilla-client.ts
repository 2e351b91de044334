/**
 * The smart client: the public API, offline-first writes and the local copy. In cluster
 * mode requests go straight to each key's partition owner, through any live node when
 * the owner is unreachable (op-router.ts: connections, the partition map, retries); with
 * `serverUrl` every request goes to that one node, which forwards. Writes are applied
 * locally at once, kept in the storage adapter until acknowledged, and sent again after
 * reconnects; a reconnect also re-reads the keys the client knows. Change events and
 * their replay are in change-events.ts.
 */
import { FlotillaError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Timers, TimerHandle } from '../core/timers.js';
import { decodeValue, encodeValue, unpackValue, type KvValue } from '../protocol/map-values.js';
import { resolveClientConfig, type ClientConfig } from './client-config.js';
import { ClientMap, type MapBackend } from './client-map.js';
import { ClientOrMap, type OrMapBackend } from './client-or-map.js';
import { decodeVersioned, isRetryable, writeVersion } from './answers.js';
import { ChangeEvents } from './change-events.js';
import { decodeCallResult, encodeCallArgs, makeClientEntityRef, type ClientEntityDefinition, type ClientEntityRef } from './entity-ref.js';
import { LocalStore, type MapListener } from './local-store.js';
import { OpRouter } from './op-router.js';
import { PendingWrites } from './pending-writes.js';
import { SubscriptionSet, type SubscriptionFilter } from './subscriptions.js';
import { LIVE_QUERIES_MAX, LiveQueries, type LiveQuery } from './live-queries.js';
import type { QueryListener } from './query-result.js';
import type { QueryFilter } from '../protocol/query-filter.js';
import { partitionOf } from '../core/partition.js';
import type { ClusterStats } from './routing-table.js';
import type { SocketConstructor } from './socket.js';
import { forgetWrite, MemoryStorageAdapter, type PendingWrite, type StorageAdapter } from './storage.js';

/** Options of `FlotillaClient`: `cluster` (smart routing) or `serverUrl` (one node forwards everything). */
export interface FlotillaClientOptions {
  /** Cluster mode: gateway URLs (`ws://host:port`) to learn the cluster from. */
  readonly cluster?: { readonly seeds: readonly string[] };
  /** Single-node mode: every operation goes through this gateway. */
  readonly serverUrl?: string;
  /** Where pending writes wait for their acknowledgement. Default: in memory. */
  readonly storage?: StorageAdapter;
  /** The JWT to authenticate with (or call `setAuthToken` later). */
  readonly authToken?: string;
  /** The WebSocket class. `flotilla/client` defaults it to the global `WebSocket`. */
  readonly WebSocket?: SocketConstructor;
  /** Time and timers. `flotilla/client` defaults them to the platform's. */
  readonly timers?: Timers;
  /** Randomness (reconnect jitter, failover choice). `flotilla/client` defaults it. */
  readonly random?: Random;
  readonly config?: Partial<ClientConfig>;
}

/** A node the client is connected to. */
export interface ConnectedNode {
  readonly nodeId: string | undefined;
  readonly url: string;
}

/** Concurrent reads of the resync after a reconnect. */
const RESYNC_CONCURRENCY = 16;


/** The smart client. */
export class FlotillaClient implements MapBackend, OrMapBackend {
  private readonly config: ClientConfig;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly storage: StorageAdapter;
  private readonly clusterMode: boolean;
  private readonly router: OpRouter;
  private readonly writes: PendingWrites;
  private readonly local: LocalStore;
  private readonly subs: SubscriptionSet;
  private readonly events: ChangeEvents;
  private readonly queries: LiveQueries;
  private readonly loaded: Promise<void>;
  /** `loaded` has resolved: writes need not wait a turn for it. */
  private restored = false;
  private token: string | undefined;
  private closed = false;
  private online = false;
  private retryTimer: TimerHandle | undefined;
  /** Prefix of this client's entity call ids (random), and the sequence after it. */
  private readonly callPrefix: string;
  private callSeq = 0;
  /** The last authentication refusal, until a new token is set. */
  authError: { code: string; message: string } | undefined;

  /** @throws FlotillaError FLO_CONFIG_INVALID for missing or contradictory options. */
  constructor(options: FlotillaClientOptions) {
    this.config = resolveClientConfig(options.config);
    if (options.timers === undefined || options.random === undefined || options.WebSocket === undefined) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'no WebSocket, timers or random source: import FlotillaClient from flotilla/client, which supplies the platform ones, or pass them');
    }
    this.timers = options.timers;
    this.random = options.random;
    const seeds = options.cluster?.seeds ?? [];
    if ((seeds.length > 0) === (options.serverUrl !== undefined)) throw new FlotillaError('FLO_CONFIG_INVALID', 'give cluster.seeds or serverUrl, one of them');
    this.clusterMode = seeds.length > 0;
    this.storage = options.storage ?? new MemoryStorageAdapter();
    this.token = options.authToken;
    this.writes = new PendingWrites(this.config.pendingWritesMax);
    this.local = new LocalStore(this.config.cacheKeysMax, (map, key) => this.writes.has(map, key));
    this.subs = new SubscriptionSet(this.config.cacheKeysMax);
    this.router = new OpRouter({
      config: this.config,
      timers: this.timers,
      random: this.random,
      Socket: options.WebSocket,
      clusterMode: this.clusterMode,
      token: () => this.token,
      subscriptions: (conn) => [...this.events.all(), ...this.queries.all(conn.url)],
      closed: () => this.closed,
      onWritableMap: () => this.pump(),
      onMapChanged: () => {
        this.events.mapChanged();
        this.queries.mapChanged();
      },
      hooks: {
        onReady: () => this.onReady(),
        onDown: (conn) => {
          this.events.onDown(conn.url);
          this.queries.onDown(conn.url);
          this.pump();
        },
        onAuthFailed: (_conn, code, message) => (this.authError = { code, message }),
        onEvent: (event, conn) => (this.queries.has(event.id) ? this.queries.onEvent(event, conn.url) : this.events.onEvent(event, conn.url)),
        onSubscribed: (id, payload, conn) => (this.queries.has(id) ? this.queries.onSubscribed(id, payload, conn.url) : this.events.onSubscribed(id, payload, conn.url)),
        onSubscribeRefused: (id, error) => this.queries.onRefused(id, error),
        onEventsDropped: (id) => (this.queries.has(id) ? this.queries.onEventsDropped(id) : this.events.onEventsDropped(id)),
      },
    });
    this.events = new ChangeEvents({
      timers: this.timers,
      subs: this.subs,
      local: this.local,
      pending: (map, key) => this.writes.has(map, key),
      connections: () => this.router.connections.values(),
      resync: (which) => void this.resync(which),
      relay: !this.clusterMode,
    });
    this.queries = new LiveQueries({
      timers: this.timers,
      local: this.local,
      pending: (map, key) => this.writes.has(map, key),
      pendingEntries: (map) => [...this.local.keys()].filter(([m, key]) => m === map && this.writes.has(m, key)).map(([, key]) => [key, this.local.get(map, key)]),
      // Gateways push their map before any answer, so the count is known when a sweep needs it.
      partitionOf: (key) => {
        const count = this.router.routing.stats(0, 0).partitionCount;
        return count > 0 ? partitionOf(key, count) : partitionOf(key);
      },
      connections: () => this.router.connections.values(),
      versionsMax: this.config.cacheKeysMax,
      queriesMax: LIVE_QUERIES_MAX,
      relay: !this.clusterMode,
    });
    this.callPrefix = `${this.random.int(2 ** 30).toString(36)}${this.random.int(2 ** 30).toString(36)}`;
    this.loaded = this.restore().then(() => {
      this.restored = true;
    });
    for (const url of this.clusterMode ? seeds : [options.serverUrl!]) this.router.connection(url).open();
    this.router.mapRequests.start();
  }

  /** Use `token` from now on: sent to connected nodes at once (extending their sessions) and used by every reconnect. */
  setAuthToken(token: string): void {
    this.token = token;
    this.authError = undefined;
    for (const conn of this.router.connections.values()) conn.tokenChanged();
  }

  /** The named map `name`. @throws FLO_INVALID_ARGUMENT for a bad name. */
  getMap<V extends KvValue = KvValue>(name: string): ClientMap<V> {
    return new ClientMap<V>(name, this);
  }

  /**
   * A typed ref to entity `id` of `definition`'s type (the server's `defineEntity` result):
   * each method call goes to the entity's owner (or through any live node, which forwards)
   * and resolves with the handler's result. Calls are not offline-first: with no node
   * reachable they fail after `requestTimeoutMs`. A retried call keeps its call id, so the
   * owner answers a retry from the first attempt while the activation lives.
   * @throws FLO_INVALID_ARGUMENT for an empty or overlong id.
   */
  entity<D extends ClientEntityDefinition>(definition: D, id: string): ClientEntityRef<D> {
    return makeClientEntityRef(definition, id, (type, entityId, handler, args) => this.callEntity(type, entityId, handler, args));
  }

  /** The named OR-map `name` (several values per key; online operations). @throws FLO_INVALID_ARGUMENT for a bad name. */
  getOrMap<V extends KvValue = KvValue>(name: string): ClientOrMap<V> {
    return new ClientOrMap<V>(name, this);
  }

  orOp(op: 'orAdd' | 'orRemove' | 'orGet', map: string, key: string, value: Uint8Array | null): Promise<Uint8Array | null> {
    this.checkOpen();
    return this.router.run({ map, op, key, value });
  }

  getClusterStats(): ClusterStats {
    return this.router.routing.stats(this.timers.now(), this.config.staleAfterMs);
  }

  /** True in cluster mode once a partition map is known and some node is connected. */
  isRoutingActive(): boolean {
    return this.clusterMode && this.router.routing.version() > 0 && this.router.anyUsable();
  }

  /** Nodes with an authenticated connection. */
  getConnectedNodes(): ConnectedNode[] {
    return [...this.router.connections.values()].filter((c) => c.isReady()).map((c) => ({ nodeId: c.nodeId, url: c.url }));
  }

  /** Writes still waiting for the cluster. */
  pendingWrites(): number {
    return this.writes.size();
  }

  /** Closes every connection. Pending writes stay in the storage adapter; their callers get FLO_NODE_STOPPED. */
  close(): void {
    this.closed = true;
    this.retryTimer?.cancel();
    this.events.close();
    this.queries.close();
    this.router.close();
    this.writes.abandon(new FlotillaError('FLO_NODE_STOPPED', 'the client closed; the write stays pending in storage'));
  }

  // --- MapBackend -------------------------------------------------------------------

  write(map: string, key: string, value: KvValue | undefined): Promise<Uint8Array | null> {
    // Not async: the hot path of every set makes one promise fewer; failures still reject.
    try {
      this.checkOpen();
      const bytes = value === undefined ? null : encodeValue(value);
      return this.restored ? this.enqueue(map, key, value, bytes) : this.loaded.then(() => this.enqueue(map, key, value, bytes));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Queue the write and apply it locally; it goes out once the storage adapter holds it. */
  private enqueue(map: string, key: string, value: KvValue | undefined, bytes: Uint8Array | null): Promise<Uint8Array | null> {
    const { write, acked } = this.writes.add(map, key, bytes);
    this.local.set(map, key, value, 'local');
    const kept = this.storage.put(write);
    // An adapter that holds the write once `put` returns (memory) lets it go at once.
    if (typeof kept?.then !== 'function') {
      this.pump();
      return acked;
    }
    return kept.then(() => {
      this.pump();
      return acked;
    });
  }

  async read(map: string, key: string): Promise<KvValue | undefined> {
    this.checkOpen();
    await this.loaded;
    if (this.writes.has(map, key) || (!this.router.anyUsable() && this.online === false && this.local.has(map, key))) return this.local.get(map, key);
    const read = decodeVersioned(await this.router.run({ map, op: 'get', key, value: null }));
    if (this.writes.has(map, key)) return this.local.get(map, key);
    // Never older than what this client saw: a value read from an owner that then died
    // before its backup had it must not be followed by the backup's older one.
    const order = read === undefined ? (this.subs.seen(map, key) ? -1 : 1) : this.subs.observe(map, key, read.version);
    if (order < 0 && this.local.has(map, key)) return this.local.get(map, key);
    const value = read?.value ?? undefined;
    this.local.set(map, key, value, 'remote');
    return value;
  }

  async entries(map: string): Promise<[string, KvValue][]> {
    this.checkOpen();
    await this.loaded;
    if (!this.router.anyUsable()) return this.local.entries(map);
    const flat = unpackValue((await this.router.run({ map, op: 'entries', key: null, value: null })) ?? new Uint8Array([0x90]), 'entries');
    const remote = new Map<string, KvValue>();
    if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) remote.set(String(flat[i]), decodeValue(flat[i + 1] as Uint8Array));
    for (const [key] of remote) if (this.writes.has(map, key)) remote.delete(key);
    for (const [m, key] of this.local.keys()) {
      if (m !== map || !this.writes.has(map, key)) continue;
      const value = this.local.get(map, key);
      if (value !== undefined) remote.set(key, value);
    }
    return [...remote];
  }

  async size(map: string): Promise<number> {
    this.checkOpen();
    if (!this.router.anyUsable()) return this.local.entries(map).length;
    const n = unpackValue((await this.router.run({ map, op: 'size', key: null, value: null })) ?? new Uint8Array([0]), 'size');
    return typeof n === 'number' ? n : 0;
  }

  subscribe(map: string, listener: MapListener, filter: SubscriptionFilter = {}): () => void {
    const { key, prefix } = filter;
    const stopLocal = this.local.subscribe(map, (change) => {
      if ((key === undefined || change.key === key) && (prefix === undefined || change.key.startsWith(prefix))) listener(change);
    });
    const stopRemote = this.events.subscribe(map, filter);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      stopLocal();
      stopRemote();
    };
  }

  query(map: string, filter: QueryFilter, listener?: QueryListener): LiveQuery {
    this.checkOpen();
    return this.queries.start(map, filter, listener);
  }

  private async callEntity(type: string, id: string, handler: string, args: unknown[]): Promise<unknown> {
    this.checkOpen();
    const callId = `${this.callPrefix}-${(++this.callSeq).toString(36)}`;
    const call = { entityType: type, entityId: id, handler, args: encodeCallArgs(type, handler, args), callId };
    return decodeCallResult(await this.router.runWith(`${type}/${id}`, (conn, forward) => conn.callEntity({ ...call, forward }), true));
  }

  private onReady(): void {
    const wasOffline = !this.online;
    this.online = true;
    this.pump();
    if (wasOffline) void this.resync();
  }

  /** Re-read every known key (that `which` picks) without a pending write: the downward half of a reconnect's sync. */
  private async resync(which: (slot: [string, string]) => boolean = () => true): Promise<void> {
    const keys = this.local.keys().filter((slot) => !this.writes.has(slot[0], slot[1]) && which(slot));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length && !this.closed) {
        const [map, key] = keys[next++]!;
        try {
          await this.read(map, key);
        } catch {
          // The next reconnect (or read) tries again.
        }
      }
    };
    await Promise.all(Array.from({ length: RESYNC_CONCURRENCY }, worker));
  }

  // --- pending writes ----------------------------------------------------------------

  private async restore(): Promise<void> {
    const loaded = await this.storage.load();
    this.writes.restore(loaded);
    for (const w of [...loaded].sort((a, b) => a.seq - b.seq)) this.local.set(w.map, w.key, w.value === null ? undefined : decodeValue(w.value), 'local');
    this.pump();
  }

  /** Send what can go now (the upward half of the sync); called on every event that may unblock writes. */
  private pump(): void {
    if (this.closed) return;
    if (!this.router.anyUsable()) {
      this.online = false;
      return;
    }
    for (const write of this.writes.takeSendable()) {
      this.router.attemptThen({ map: write.map, op: write.value === null ? 'delete' : 'put', key: write.key, value: write.value }, (error, payload) => {
        if (error === undefined) this.acked(write, payload);
        else this.failed(write, error);
      });
    }
  }

  private acked(write: PendingWrite, payload: Uint8Array | null): void {
    // The write's version joins the versions seen before the key stops being pending, so
    // no later read returns a value older than this write (an older majority's, after a
    // minority owner acknowledged it).
    const version = writeVersion(payload);
    if (version !== undefined) this.subs.observe(write.map, write.key, version);
    this.writes.finish(write, payload);
    forgetWrite(this.storage, write.seq);
    this.pump();
  }

  private failed(write: PendingWrite, error: unknown): void {
    if (this.closed) return;
    if (isRetryable(error)) {
      this.writes.release(write);
      this.retryTimer ??= this.timers.at(this.timers.now() + this.config.retryDelayMs, () => {
        this.retryTimer = undefined;
        this.pump();
      });
      return;
    }
    // Refused for good (bad value, auth): the caller hears why, and the next read shows the cluster's value.
    this.writes.finish(write, null, error);
    forgetWrite(this.storage, write.seq);
    this.pump();
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('FLO_NODE_STOPPED', 'the client is closed');
  }
}
