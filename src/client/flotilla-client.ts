/**
 * The smart client. In cluster mode it learns the partition map from any seed, keeps a
 * connection to every node that serves clients, and sends each key's operations straight
 * to its partition's owner (batched per node and turn); a NOT_OWNER answer refreshes the
 * map and retries, and when the owner is unreachable (down, or its circuit breaker open)
 * the operation goes to any live node, which forwards it. A map from a node that accepts
 * writes wins over a read-only node's (routing-table.ts); a FLO_READ_ONLY answer makes the
 * client look for one (map-requests.ts) before the write is retried. With `serverUrl` every
 * operation goes to that one node, which forwards. Writes are offline-first: applied
 * locally at once, kept in the storage adapter until acknowledged, and sent again after
 * reconnects; a reconnect also re-reads the keys the client knows.
 */
import { FlotillaError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import { sleep, type Timers, type TimerHandle } from '../core/timers.js';
import type { ClientOp, ClientPartitionMap, EventVersion } from '../protocol/client-frames.js';
import { decodeValue, encodeValue, unpackValue, type KvValue } from '../protocol/map-values.js';
import { resolveClientConfig, type ClientConfig } from './client-config.js';
import { ClientMap, type MapBackend } from './client-map.js';
import { ClientOrMap, type OrMapBackend } from './client-or-map.js';
import { decodeVersioned, decodeWriteAnswer, isMutating, isRetryable, mayHaveRunError, outcomeUnknown, remoteError } from './answers.js';
import { decodeCallResult, encodeCallArgs, makeClientEntityRef, type ClientEntityDefinition, type ClientEntityRef } from './entity-ref.js';
import { LocalStore, type MapListener } from './local-store.js';
import { MapRequests } from './map-requests.js';
import { NodeConnection, type ConnectionHooks, type OpAnswer } from './node-connection.js';
import { PendingWrites } from './pending-writes.js';
import { SubscriptionSet, type SubscriptionFilter } from './subscriptions.js';
import { RoutingTable, type ClusterStats } from './routing-table.js';
import type { SocketConstructor } from './socket.js';
import { MemoryStorageAdapter, type PendingWrite, type StorageAdapter } from './storage.js';

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

type KeyedOp = Omit<ClientOp, 'id' | 'forward'>;

/** Sends one request on `conn`; `forward` asks a node that is not the owner to carry it on. */
type Send = (conn: NodeConnection, forward: boolean) => Promise<OpAnswer>;

/** Concurrent reads of the resync after a reconnect. */
const RESYNC_CONCURRENCY = 16;

/** The smart client. */
export class FlotillaClient implements MapBackend, OrMapBackend {
  private readonly config: ClientConfig;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly Socket: SocketConstructor;
  private readonly storage: StorageAdapter;
  private readonly seeds: readonly string[];
  private readonly clusterMode: boolean;
  private readonly connections = new Map<string, NodeConnection>();
  private readonly routing = new RoutingTable();
  private readonly writes: PendingWrites;
  private readonly local: LocalStore;
  private readonly hooks: ConnectionHooks;
  private readonly subs: SubscriptionSet;
  private readonly loaded: Promise<void>;
  private token: string | undefined;
  private closed = false;
  private online = false;
  private retryTimer: TimerHandle | undefined;
  private readonly mapRequests: MapRequests;
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
    this.Socket = options.WebSocket;
    const seeds = options.cluster?.seeds ?? [];
    if ((seeds.length > 0) === (options.serverUrl !== undefined)) throw new FlotillaError('FLO_CONFIG_INVALID', 'give cluster.seeds or serverUrl, one of them');
    this.clusterMode = seeds.length > 0;
    this.seeds = this.clusterMode ? [...seeds] : [options.serverUrl!];
    this.storage = options.storage ?? new MemoryStorageAdapter();
    this.token = options.authToken;
    this.writes = new PendingWrites(this.config.pendingWritesMax);
    this.local = new LocalStore(this.config.cacheKeysMax, (map, key) => this.writes.has(map, key));
    this.subs = new SubscriptionSet(this.config.cacheKeysMax);
    this.hooks = {
      onMap: (map, conn) => this.onMap(map, conn),
      onReady: () => this.onReady(),
      onDown: () => this.pump(),
      onAuthFailed: (_conn, code, message) => (this.authError = { code, message }),
      onEvent: (event) => {
        const sub = this.subs.get(event.id);
        if (sub === undefined || this.writes.has(sub.map, event.key) || !this.subs.newer(sub.map, event.key, event.version)) return;
        this.local.set(sub.map, event.key, event.value === null ? undefined : decodeValue(event.value), 'remote');
      },
    };
    this.callPrefix = `${this.random.int(2 ** 30).toString(36)}${this.random.int(2 ** 30).toString(36)}`;
    this.loaded = this.restore();
    this.mapRequests = new MapRequests({ timers: this.timers, routing: this.routing, connections: () => this.connections.values(), staleAfterMs: this.config.staleAfterMs });
    for (const url of this.seeds) this.connection(url).open();
    this.mapRequests.start();
  }

  /** Use `token` from now on: sent to connected nodes at once (extending their sessions) and used by every reconnect. */
  setAuthToken(token: string): void {
    this.token = token;
    this.authError = undefined;
    for (const conn of this.connections.values()) conn.tokenChanged();
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
    return this.run({ map, op, key, value });
  }

  getClusterStats(): ClusterStats {
    return this.routing.stats(this.timers.now(), this.config.staleAfterMs);
  }

  /** True in cluster mode once a partition map is known and some node is connected. */
  isRoutingActive(): boolean {
    return this.clusterMode && this.routing.version() > 0 && this.anyUsable();
  }

  /** Nodes with an authenticated connection. */
  getConnectedNodes(): ConnectedNode[] {
    return [...this.connections.values()].filter((c) => c.isReady()).map((c) => ({ nodeId: c.nodeId, url: c.url }));
  }

  /** Writes still waiting for the cluster. */
  pendingWrites(): number {
    return this.writes.size();
  }

  /** Closes every connection. Pending writes stay in the storage adapter; their callers get FLO_NODE_STOPPED. */
  close(): void {
    this.closed = true;
    this.retryTimer?.cancel();
    this.mapRequests.stop();
    for (const conn of this.connections.values()) conn.close();
    this.writes.abandon(new FlotillaError('FLO_NODE_STOPPED', 'the client closed; the write stays pending in storage'));
  }

  // --- MapBackend -------------------------------------------------------------------

  async write(map: string, key: string, value: KvValue | undefined): Promise<Uint8Array | null> {
    this.checkOpen();
    const bytes = value === undefined ? null : encodeValue(value);
    await this.loaded;
    const { write, acked } = this.writes.add(map, key, bytes);
    this.local.set(map, key, value, 'local');
    await this.storage.put(write);
    this.pump();
    return acked;
  }

  async read(map: string, key: string): Promise<KvValue | undefined> {
    this.checkOpen();
    await this.loaded;
    if (this.writes.has(map, key) || (!this.anyUsable() && this.online === false && this.local.has(map, key))) return this.local.get(map, key);
    const read = decodeVersioned(await this.run({ map, op: 'get', key, value: null }));
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
    if (!this.anyUsable()) return this.local.entries(map);
    const flat = unpackValue((await this.run({ map, op: 'entries', key: null, value: null })) ?? new Uint8Array([0x90]), 'entries');
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
    if (!this.anyUsable()) return this.local.entries(map).length;
    const n = unpackValue((await this.run({ map, op: 'size', key: null, value: null })) ?? new Uint8Array([0]), 'size');
    return typeof n === 'number' ? n : 0;
  }

  subscribe(map: string, listener: MapListener, filter: SubscriptionFilter = {}): () => void {
    const { key, prefix } = filter;
    const stopLocal = this.local.subscribe(map, (change) => {
      if ((key === undefined || change.key === key) && (prefix === undefined || change.key.startsWith(prefix))) listener(change);
    });
    const { sub, created } = this.subs.acquire(map, filter);
    if (created) for (const conn of this.connections.values()) conn.subscription(sub, true);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      stopLocal();
      if (this.subs.release(sub)) for (const conn of this.connections.values()) conn.subscription(sub, false);
    };
  }

  private async callEntity(type: string, id: string, handler: string, args: unknown[]): Promise<unknown> {
    this.checkOpen();
    const callId = `${this.callPrefix}-${(++this.callSeq).toString(36)}`;
    const call = { entityType: type, entityId: id, handler, args: encodeCallArgs(type, handler, args), callId };
    return decodeCallResult(await this.runWith(`${type}/${id}`, (conn, forward) => conn.callEntity({ ...call, forward }), true));
  }

  // --- routing ----------------------------------------------------------------------

  /** One attempt at the right node; throws the node's error (NOT_OWNER refreshes the map first). */
  private attempt(op: KeyedOp): Promise<Uint8Array | null> {
    return this.attemptWith(op.key, (conn, forward) => conn.call({ ...op, forward }));
  }

  private async attemptWith(key: string | null, send: Send): Promise<Uint8Array | null> {
    const target = this.pick(key);
    if (target === undefined) throw new FlotillaError('FLO_CONNECTION_FAILED', 'no node is connected');
    const answer = await send(target.conn, target.forward);
    if (answer.type === 'RESULT') return answer.payload;
    if (answer.code === 'FLO_READ_ONLY') {
      // The version of a read-only side's table says nothing about where writes go.
      this.routing.noteReadOnly(target.conn.url);
      if (this.clusterMode) this.mapRequests.askForWritable();
      throw remoteError(answer.code, answer.message);
    }
    const newer = this.routing.noteVersion(answer.mapVersion);
    if (answer.code === 'FLO_NOT_OWNER' || answer.code === 'FLO_UNCONFIRMED' || newer) {
      if (answer.owner !== null && this.clusterMode) this.connection(answer.owner.url).open();
      target.conn.requestMap(this.routing.version());
    }
    throw remoteError(answer.code, answer.message);
  }

  /** Attempts until one succeeds, a failure is final, or `requestTimeoutMs` passed. */
  private run(op: KeyedOp): Promise<Uint8Array | null> {
    return this.runWith(op.key, (conn, forward) => conn.call({ ...op, forward }), isMutating(op.op));
  }

  /** Once an attempt of a `mutating` op may have run, running out of retries on a refusal fails it with FLO_UNCONFIRMED. */
  private async runWith(key: string | null, send: Send, mutating: boolean): Promise<Uint8Array | null> {
    const deadline = this.timers.now() + this.config.requestTimeoutMs;
    let mayHaveRun: string | undefined;
    for (;;) {
      try {
        return await this.attemptWith(key, send);
      } catch (error) {
        if (mutating && mayHaveRunError(error)) mayHaveRun ??= error.code;
        if (!isRetryable(error)) throw error;
        if (this.timers.now() >= deadline || this.closed) throw mayHaveRun === undefined ? error : outcomeUnknown(mayHaveRun, error);
        await sleep(this.timers, this.config.retryDelayMs);
      }
    }
  }

  private pick(key: string | null): { conn: NodeConnection; forward: boolean } | undefined {
    if (this.clusterMode && key !== null) {
      const owner = this.routing.ownerOf(key);
      if (owner !== undefined) {
        const conn = this.connection(owner.url);
        conn.open();
        if (conn.usable()) return { conn, forward: false };
      }
    }
    const usable = [...this.connections.values()].filter((c) => c.usable());
    if (usable.length === 0) return undefined;
    // With a writable node's map, a node it lists is on the writable side: it forwards to an owner that accepts writes.
    const writableSide = this.routing.isWritable() ? usable.filter((c) => this.routing.hasNode(c.url)) : [];
    const pool = writableSide.length > 0 ? writableSide : usable;
    return { conn: pool[this.random.int(pool.length)]!, forward: true };
  }

  private connection(url: string): NodeConnection {
    let conn = this.connections.get(url);
    if (conn === undefined) {
      conn = new NodeConnection({ url, config: this.config, timers: this.timers, random: this.random, Socket: this.Socket, token: () => this.token, hooks: this.hooks, subscriptions: () => this.subs.all() });
      this.connections.set(url, conn);
    }
    return conn;
  }

  private anyUsable(): boolean {
    for (const conn of this.connections.values()) if (conn.usable()) return true;
    return false;
  }

  private onMap(map: ClientPartitionMap, from: NodeConnection): void {
    if (!this.routing.accept(map, this.timers.now(), from.url) || !this.clusterMode || this.closed) return;
    for (const node of map.nodes) this.connection(node.url).open();
    // Writes sent by a read-only node's map would only meet FLO_READ_ONLY: they wait for a writable one (or the retry timer).
    if (map.writable) this.pump();
    else this.mapRequests.askForWritable();
  }

  private onReady(): void {
    const wasOffline = !this.online;
    this.online = true;
    this.pump();
    if (wasOffline) void this.resync();
  }

  /** Re-read every known key without a pending write (the downward half of a reconnect's sync). */
  private async resync(): Promise<void> {
    const keys = this.local.keys().filter(([map, key]) => !this.writes.has(map, key));
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
    if (!this.anyUsable()) {
      this.online = false;
      return;
    }
    for (const write of this.writes.takeSendable()) {
      void this.attempt({ map: write.map, op: write.value === null ? 'delete' : 'put', key: write.key, value: write.value }).then(
        (payload) => this.acked(write, payload),
        (error: unknown) => this.failed(write, error),
      );
    }
  }

  private acked(write: PendingWrite, payload: Uint8Array | null): void {
    // The write's version joins the versions seen before the key stops being pending, so
    // no later read returns a value older than this write (an older majority's, after a
    // minority owner acknowledged it).
    const version = writeVersion(payload);
    if (version !== undefined) this.subs.observe(write.map, write.key, version);
    this.writes.finish(write, payload);
    void this.storage.remove(write.seq);
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
    void this.storage.remove(write.seq);
    this.pump();
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('FLO_NODE_STOPPED', 'the client is closed');
  }
}

/** The version a write's acknowledgement carries, if any (a malformed one leaves the write acknowledged, unversioned). */
function writeVersion(payload: Uint8Array | null): EventVersion | undefined {
  try {
    return decodeWriteAnswer(payload).version;
  } catch {
    return undefined;
  }
}
