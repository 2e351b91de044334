/**
 * Where the client's requests go: one connection per node that serves clients, the
 * partition map they route by, and the attempt loop. Each keyed request goes to its
 * partition's owner; FLO_NOT_OWNER or a newer table refreshes the map, FLO_READ_ONLY
 * demotes the refusing node's map and looks for a writable one, and when the owner is
 * unreachable (down, or its circuit breaker open) the request goes to any live node with
 * `forward` set. Retryable failures are retried until `requestTimeoutMs`.
 */
import { FlotillaError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import { sleep, type Timers } from '../core/timers.js';
import type { ClientOp, ClientPartitionMap, ClientSubscription } from '../protocol/client-frames.js';
import { isMutating, isRetryable, mayHaveRunError, outcomeUnknown, remoteError } from './answers.js';
import type { ClientConfig } from './client-config.js';
import { MapRequests } from './map-requests.js';
import { NodeConnection, type ConnectionHooks, type OpAnswer } from './node-connection.js';
import { RoutingTable } from './routing-table.js';
import type { SocketConstructor } from './socket.js';

/** A map op without the per-attempt fields. */
export type KeyedOp = Omit<ClientOp, 'id' | 'forward'>;

/** Sends one request on `conn`; `forward` asks a node that is not the owner to carry it on. */
export type Send = (conn: NodeConnection, forward: boolean) => Promise<OpAnswer>;

/** What the router is built with. */
export interface OpRouterParts {
  readonly config: ClientConfig;
  readonly timers: Timers;
  readonly random: Random;
  readonly Socket: SocketConstructor;
  /** Smart routing (false: every request goes to the one seed, which forwards). */
  readonly clusterMode: boolean;
  readonly token: () => string | undefined;
  /** The client's hooks for everything but maps, which the router takes itself. */
  readonly hooks: Omit<ConnectionHooks, 'onMap'>;
  readonly subscriptions: (conn: NodeConnection) => readonly ClientSubscription[];
  readonly closed: () => boolean;
  /** A writable node's map arrived: writes waiting for one may go. */
  readonly onWritableMap: () => void;
  /** The map's version changed (owners may have moved). */
  readonly onMapChanged: () => void;
}

/** The client's connections and routing. */
export class OpRouter {
  readonly connections = new Map<string, NodeConnection>();
  readonly routing = new RoutingTable();
  readonly mapRequests: MapRequests;
  private readonly hooks: ConnectionHooks;

  constructor(private readonly parts: OpRouterParts) {
    this.hooks = { ...parts.hooks, onMap: (map, conn) => this.onMap(map, conn) };
    this.mapRequests = new MapRequests({ timers: parts.timers, routing: this.routing, connections: () => this.connections.values(), staleAfterMs: parts.config.staleAfterMs });
  }

  /** The connection to `url`, made (not opened) on first use. */
  connection(url: string): NodeConnection {
    let conn = this.connections.get(url);
    if (conn === undefined) {
      const { config, timers, random, Socket, token, subscriptions } = this.parts;
      conn = new NodeConnection({ url, config, timers, random, Socket, token, hooks: this.hooks, subscriptions });
      this.connections.set(url, conn);
    }
    return conn;
  }

  anyUsable(): boolean {
    for (const conn of this.connections.values()) if (conn.usable()) return true;
    return false;
  }

  /** Close every connection and stop asking for maps. */
  close(): void {
    this.mapRequests.stop();
    for (const conn of this.connections.values()) conn.close();
  }

  /** Attempts of `op` until one succeeds, a failure is final, or `requestTimeoutMs` passed. */
  run(op: KeyedOp): Promise<Uint8Array | null> {
    return this.runWith(op.key, (conn, forward) => conn.call(withForward(op, forward)), isMutating(op.op));
  }

  /** Once an attempt of a `mutating` request may have run, running out of retries on a refusal fails it with FLO_UNCONFIRMED. */
  async runWith(key: string | null, send: Send, mutating: boolean): Promise<Uint8Array | null> {
    const { timers, config } = this.parts;
    const deadline = timers.now() + config.requestTimeoutMs;
    let mayHaveRun: string | undefined;
    for (;;) {
      try {
        return await this.attemptWith(key, send);
      } catch (error) {
        if (mutating && mayHaveRunError(error)) mayHaveRun ??= error.code;
        if (!isRetryable(error)) throw error;
        if (timers.now() >= deadline || this.parts.closed()) throw mayHaveRun === undefined ? error : outcomeUnknown(mayHaveRun, error);
        await sleep(timers, config.retryDelayMs);
      }
    }
  }

  /**
   * One attempt of `op` at the right node, answered through `done`: the payload, or the
   * node's error (NOT_OWNER refreshes the map first). The path of every write, with no
   * promise of its own.
   */
  attemptThen(op: KeyedOp, done: (error: unknown, payload: Uint8Array | null) => void): void {
    const target = this.pick(op.key);
    if (target === undefined) {
      done(noNode(), null);
      return;
    }
    target.conn.callWith(op, target.forward, (answer, error) => {
      if (answer === undefined) {
        done(error, null);
        return;
      }
      let payload: Uint8Array | null;
      try {
        payload = this.answered(target.conn, answer);
      } catch (refused) {
        done(refused, null);
        return;
      }
      done(undefined, payload);
    });
  }

  private async attemptWith(key: string | null, send: Send): Promise<Uint8Array | null> {
    const target = this.pick(key);
    if (target === undefined) throw noNode();
    return this.answered(target.conn, await send(target.conn, target.forward));
  }

  /** The payload of `answer`, or the error it carries (after noting what it says of the map). */
  private answered(conn: NodeConnection, answer: OpAnswer): Uint8Array | null {
    if (answer.type === 'RESULT') return answer.payload;
    if (answer.code === 'FLO_READ_ONLY') {
      // The version of a read-only side's table says nothing about where writes go.
      this.routing.noteReadOnly(conn.url);
      if (this.parts.clusterMode) this.mapRequests.askForWritable();
      throw remoteError(answer.code, answer.message);
    }
    const newer = this.routing.noteVersion(answer.mapVersion);
    if (answer.code === 'FLO_NOT_OWNER' || answer.code === 'FLO_UNCONFIRMED' || newer) {
      if (answer.owner !== null && this.parts.clusterMode) this.connection(answer.owner.url).open();
      conn.requestMap(this.routing.version());
    }
    throw remoteError(answer.code, answer.message);
  }

  private pick(key: string | null): { conn: NodeConnection; forward: boolean } | undefined {
    if (this.parts.clusterMode && key !== null) {
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
    return { conn: pool[this.parts.random.int(pool.length)]!, forward: true };
  }

  private onMap(map: ClientPartitionMap, from: NodeConnection): void {
    const before = this.routing.version();
    if (!this.routing.accept(map, this.parts.timers.now(), from.url) || !this.parts.clusterMode || this.parts.closed()) return;
    for (const node of map.nodes) this.connection(node.url).open();
    if (map.version !== before) this.parts.onMapChanged();
    // Writes sent by a read-only node's map would only meet FLO_READ_ONLY: they wait for a writable one (or the retry timer).
    if (map.writable) this.parts.onWritableMap();
    else this.mapRequests.askForWritable();
  }
}

function noNode(): FlotillaError {
  return new FlotillaError('FLO_CONNECTION_FAILED', 'no node is connected');
}

/** `op` with `forward` set, built field by field: one object shape for every op (a spread made a new one per call). */
function withForward(op: KeyedOp, forward: boolean): Omit<ClientOp, 'id'> {
  return { map: op.map, op: op.op, key: op.key, value: op.value, forward };
}
