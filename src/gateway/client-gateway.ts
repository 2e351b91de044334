/**
 * The client gateway: a WebSocket endpoint (Fastify with `@fastify/websocket`, set up in
 * client-listener.ts) where smart clients run map
 * operations. A connection first gets AUTH_REQUIRED and must answer with a valid JWT
 * (AUTH) within `authTimeoutMs`; any other frame before AUTH_ACK is refused and the
 * socket closed, and nothing but the socket and one timer is held for it until then.
 * Once authenticated it is pushed the partition map (and again whenever it or the node's
 * quorum verdict changes),
 * runs ops (bounded in flight), and is closed when its token expires unless a fresh
 * AUTH extended it. Entity calls run like keyed ops on `type/id` (client-calls.ts).
 * Subscribed connections get an EVENT for each write this node acknowledges as the key's
 * owner, and resumable subscriptions a replay first (client-events.ts). The node
 * advertises the gateway's URL as its `clientUrl` tag.
 */
import type { RawData, WebSocket } from 'ws';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { PartitionTableData } from '../core/model.js';
import type { MapRouter } from '../grid/grid-map.js';
import type { FlotillaNode } from '../node/node-api.js';
import {
  CLIENT_PREAUTH_FRAME_BYTES_MAX,
  decodeClientFrame,
  encodeServerFrame,
  type ClientOp,
  type ClientPartitionMap,
  type ServerFrame,
} from '../protocol/client-frames.js';
import { createClientAuthenticator, type ClientAuthConfig, type ClientAuthenticator } from './client-auth.js';
import { resolveClientGatewayConfig, type ClientGatewayConfig } from './client-gateway-config.js';
import { buildClientMap, CLIENT_URL_TAG, mapSignature } from './client-map.js';
import { runClientCall, type ClientCallContext, type GatewayEntities } from './client-calls.js';
import { errorFrame, startClientOp, type ClientOpContext, type OpTable } from './client-ops.js';
import { listenForClients, type ClientListener } from './client-listener.js';
import { ClientEvents } from './client-events.js';
import { TurnResults } from './client-results.js';
import { GatewayCounters, type ClientGatewayStats } from './client-gateway-stats.js';
import { silentAdminLogger, type AdminLogger } from './http-io.js';

/** WebSocket close codes the gateway uses. */
export const CLOSE_CODES = Object.freeze({ authFailed: 4001, tokenExpired: 4002, overloaded: 1013, shuttingDown: 1001 });

/** Options of `startClientGateway`. */
export interface ClientGatewayOptions extends Partial<ClientGatewayConfig> {
  readonly node: FlotillaNode;
  /** The node's map store (the `kv` service). */
  readonly maps: MapRouter;
  /** The node's entity service, for clients' entity calls; without it every call answers FLO_ENTITY_UNKNOWN. */
  readonly entities?: GatewayEntities;
  /** Largest value the map store accepts, in bytes (bounds put frames and call arguments). */
  readonly valueBytesMax: number;
  readonly auth: ClientAuthConfig;
  /** Interface to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Port to bind; 0 (default) for one the OS picks. */
  readonly port?: number;
  /**
   * The live partition table, read on every op (the sharding layer's `tableReader`).
   * Default: the node's `partitionTable()`, which copies the table on each call.
   */
  readonly table?: () => OpTable | undefined;
  /**
   * URL clients use to reach this gateway; default `ws://<host>:<bound port>`, with the
   * node's advertised cluster host when bound to every interface (0.0.0.0 or ::).
   */
  readonly advertiseUrl?: string;
  readonly logger?: AdminLogger & { info?(fields: Record<string, unknown>, message: string): void };
}

/** A running client gateway. */
export interface ClientGateway {
  /** The URL this node advertises to clients. */
  readonly url: string;
  address(): { host: string; port: number };
  /** Open connections, authenticated or not. */
  connections(): number;
  /** Connections, operations by outcome and refusals, for `/metrics`. */
  stats(): ClientGatewayStats;
  /** Closes every connection and stops listening; removes the `clientUrl` tag. Idempotent. */
  close(): Promise<void>;
}

/** Per-connection state once authenticated (before that, only a flag and a timer). */
interface Session {
  /** The token's subject: scopes the call ids of this connection's entity calls. */
  caller: string;
  expiry: ReturnType<typeof setTimeout> | undefined;
  inFlight: number;
}

/** Starts the gateway of `options.node`. Rejects with FLO_CONFIG_INVALID for bad options, or the bind error. */
export async function startClientGateway(options: ClientGatewayOptions): Promise<ClientGateway> {
  const config = resolveClientGatewayConfig(options);
  const auth = createClientAuthenticator(options.auth);
  const host = options.host ?? '127.0.0.1';
  // The listener binds before the gateway exists; a connection cannot arrive in between
  // (the gateway is built in the same turn), but one that did would be dropped, not leaked.
  const target: { gateway?: Gateway } = {};
  const onConnection = (ws: WebSocket): void => (target.gateway === undefined ? ws.terminate() : target.gateway.accept(ws));
  const server = await listenForClients({ host, port: options.port ?? 0, frameBytesMax: config.frameBytesMax, onConnection });
  const bound = server.address();
  const url = options.advertiseUrl ?? `ws://${hostForUrl(advertisedHost(bound.address, options.node.address))}:${bound.port}`;
  const gateway = (target.gateway = new Gateway(server, options, config, auth, url));
  try {
    options.node.updateTag(CLIENT_URL_TAG, url);
  } catch (error) {
    // A URL that does not fit in the node's tags (FLO_TAGS_TOO_LARGE) leaves nothing listening.
    await gateway.close();
    throw error;
  }
  return gateway;
}

class Gateway implements ClientGateway {
  private readonly sessions = new Map<WebSocket, Session>();
  private readonly log: ClientGatewayOptions['logger'] & AdminLogger;
  private readonly pushTimer: ReturnType<typeof setInterval>;
  private readonly ops: ClientOpContext;
  private readonly calls: ClientCallContext;
  private lastSignature = '';
  private readonly events: ClientEvents;
  private readonly stopChanges: () => void;
  private closing: Promise<void> | undefined;
  private readonly results = new TurnResults((ws, frame) => this.send(ws, frame));
  private readonly counters = new GatewayCounters();

  constructor(
    private readonly server: ClientListener,
    private readonly options: ClientGatewayOptions,
    private readonly config: ClientGatewayConfig,
    private readonly auth: ClientAuthenticator,
    readonly url: string,
  ) {
    this.log = options.logger ?? silentAdminLogger;
    const node = options.node;
    const table = options.table ?? ((): OpTable | undefined => tableOf(node.partitionTable()));
    this.ops = { self: node.nodeId, table, clientMap: () => this.currentMap(), maps: options.maps, route: Object.freeze({ timeoutMs: config.opTimeoutMs }) };
    this.calls = { self: node.nodeId, table, clientMap: () => this.currentMap(), entities: options.entities };
    this.events = new ClientEvents(options.maps, config.subscriptionsMax, config.eventBufferBytesMax, () => table()?.partitionCount ?? 0);
    this.stopChanges = options.maps.onChange?.((change, mark) => this.events.onChange(change, mark)) ?? (() => undefined);
    this.pushTimer = setInterval(() => this.pushIfChanged(), config.mapPushIntervalMs);
    this.pushTimer.unref();
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    return { host: a.address, port: a.port };
  }

  connections(): number {
    return this.server.clients.size;
  }

  stats(): ClientGatewayStats {
    return this.counters.snapshot(this.server.clients.size, this.sessions.size);
  }

  private currentMap(): ClientPartitionMap | undefined {
    const node = this.options.node;
    return buildClientMap(node.partitionTable(), node.members(), !node.isReadOnly());
  }

  /** Takes a new connection: refused at the limit, else waiting for AUTH. */
  accept(ws: WebSocket): void {
    if (this.closing !== undefined || this.server.clients.size > this.config.connectionsMax) {
      ws.close(CLOSE_CODES.overloaded, 'too many connections');
      return;
    }
    // Until AUTH_ACK the connection holds one timer and one flag, nothing more.
    let state: 'waiting' | 'verifying' | 'ready' = 'waiting';
    const authTimer = setTimeout(() => this.refuse(ws, 'FLO_AUTH_FAILED', 'no AUTH in time'), this.config.authTimeoutMs);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(authTimer);
      const session = this.sessions.get(ws);
      if (session?.expiry !== undefined) clearTimeout(session.expiry);
      this.sessions.delete(ws);
      this.results.drop(ws);
      this.events.drop(ws);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = toBytes(data);
      if (state === 'ready') {
        this.onFrame(ws, bytes, isBinary);
        return;
      }
      if (state === 'verifying' || !isBinary || bytes.byteLength > CLIENT_PREAUTH_FRAME_BYTES_MAX) {
        this.refuse(ws, 'FLO_AUTH_FAILED', 'authenticate first (one binary AUTH frame)');
        return;
      }
      state = 'verifying';
      void this.authenticate(ws, bytes).then((ok) => {
        if (!ok) return;
        clearTimeout(authTimer);
        state = 'ready';
      });
    });
    this.send(ws, { type: 'AUTH_REQUIRED' });
  }

  /** Verify the first frame as AUTH; true once AUTH_ACK and the map are sent. */
  private async authenticate(ws: WebSocket, bytes: Uint8Array): Promise<boolean> {
    let token: string;
    try {
      const frame = decodeClientFrame(bytes, 0);
      if (frame.type !== 'AUTH') throw new FlotillaError('FLO_AUTH_FAILED', `${frame.type} before AUTH_ACK`);
      token = frame.token;
    } catch (error) {
      this.refuse(ws, 'FLO_AUTH_FAILED', isFlotillaError(error) ? error.message : 'unreadable AUTH');
      return false;
    }
    try {
      const identity = await this.auth.verify(token);
      if (ws.readyState !== ws.OPEN) return false;
      const session: Session = { caller: identity.subject ?? '', expiry: undefined, inFlight: 0 };
      this.sessions.set(ws, session);
      this.armExpiry(ws, session, identity.expiresAt);
      this.send(ws, { type: 'AUTH_ACK', nodeId: this.options.node.nodeId, expiresAt: identity.expiresAt });
      this.sendMap(ws);
      return true;
    } catch (error) {
      const e = isFlotillaError(error) ? error : new FlotillaError('FLO_AUTH_FAILED');
      this.refuse(ws, e.code, e.message);
      return false;
    }
  }

  private armExpiry(ws: WebSocket, session: Session, expiresAt: number | null): void {
    if (session.expiry !== undefined) clearTimeout(session.expiry);
    session.expiry = undefined;
    if (expiresAt === null) return;
    // setTimeout holds at most 2^31-1 ms; a token living longer is re-checked then.
    const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2_147_483_647);
    session.expiry = setTimeout(() => this.refuse(ws, 'FLO_TOKEN_EXPIRED', 'the token expired; reconnect with a fresh one', CLOSE_CODES.tokenExpired), delay);
  }

  private refuse(ws: WebSocket, code: string, message: string, closeCode: number = CLOSE_CODES.authFailed): void {
    this.counters.authFailed(code);
    if (ws.readyState === ws.OPEN) this.send(ws, { type: 'AUTH_FAIL', code, message });
    ws.close(closeCode, code);
  }

  private onFrame(ws: WebSocket, bytes: Uint8Array, isBinary: boolean): void {
    const session = this.sessions.get(ws);
    if (session === undefined) return;
    let frame;
    try {
      if (!isBinary) throw new FlotillaError('FLO_DECODE_INVALID', 'client frames are binary msgpack');
      frame = decodeClientFrame(bytes, this.options.valueBytesMax);
    } catch (error) {
      const e = isFlotillaError(error) ? error : new FlotillaError('FLO_DECODE_MALFORMED');
      this.counters.frameRefused();
      this.send(ws, { type: 'ERROR', id: 0, code: e.code, message: e.message, owner: null, mapVersion: null });
      return;
    }
    switch (frame.type) {
      case 'AUTH':
        void this.auth.verify(frame.token).then(
          (identity) => {
            this.armExpiry(ws, session, identity.expiresAt);
            this.send(ws, { type: 'AUTH_ACK', nodeId: this.options.node.nodeId, expiresAt: identity.expiresAt });
          },
          (error: unknown) => {
            const e = isFlotillaError(error) ? error : new FlotillaError('FLO_AUTH_FAILED');
            this.refuse(ws, e.code, e.message);
          },
        );
        return;
      case 'MAP_REQUEST':
        this.sendMap(ws);
        return;
      case 'OP':
        this.run(ws, session, frame.op);
        return;
      case 'BATCH':
        for (const op of frame.ops) this.run(ws, session, op);
        return;
      case 'CALL':
        this.track(ws, session, frame.call.id, () => runClientCall(this.calls, frame.call, session.caller));
        return;
      case 'SUBSCRIBE':
        this.events.subscribe(ws, frame.sub);
        return;
      case 'UNSUBSCRIBE':
        this.events.remove(ws, frame.id);
        return;
    }
  }

  /** Run one map op within the connection's in-flight bound; its answer joins this turn's RESULTS. */
  private run(ws: WebSocket, session: Session, op: ClientOp): void {
    if (!this.admit(ws, session, op.id)) return;
    startClientOp(this.ops, op).then(
      (payload) => {
        session.inFlight--;
        this.counters.opAnswered();
        this.results.add(ws, op.id, payload ?? null);
      },
      (error: unknown) => {
        session.inFlight--;
        const frame = errorFrame(this.ops, op.id, op.key, error);
        if (frame.type === 'ERROR') this.counters.opFailed(frame.code);
        this.send(ws, frame);
      },
    );
  }

  /** Run one request within the connection's in-flight bound; its answer joins this turn's RESULTS. */
  private track(ws: WebSocket, session: Session, id: number, work: () => Promise<ServerFrame>): void {
    if (!this.admit(ws, session, id)) return;
    void work().then((reply) => {
      session.inFlight--;
      if (reply.type === 'RESULT') {
        this.counters.opAnswered();
        this.results.add(ws, reply.id, reply.payload);
      } else {
        if (reply.type === 'ERROR') this.counters.opFailed(reply.code);
        this.send(ws, reply);
      }
    });
  }

  /** Count request `id` in flight, or refuse it with FLO_QUEUE_FULL at the bound. */
  private admit(ws: WebSocket, session: Session, id: number): boolean {
    if (session.inFlight >= this.config.opsInFlightMax) {
      this.counters.opFailed('FLO_QUEUE_FULL');
      this.send(ws, { type: 'ERROR', id, code: 'FLO_QUEUE_FULL', message: `${this.config.opsInFlightMax} operations already in flight`, owner: null, mapVersion: null });
      return false;
    }
    session.inFlight++;
    return true;
  }

  private sendMap(ws: WebSocket): void {
    const map = this.currentMap();
    if (map !== undefined) this.send(ws, { type: 'PARTITION_MAP', map });
  }

  private pushIfChanged(): void {
    const map = this.currentMap();
    const signature = mapSignature(map);
    if (signature === this.lastSignature || map === undefined) return;
    this.lastSignature = signature;
    const bytes = encodeServerFrame({ type: 'PARTITION_MAP', map });
    for (const ws of this.sessions.keys()) if (ws.readyState === ws.OPEN) ws.send(bytes);
  }

  private send(ws: WebSocket, frame: ServerFrame): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeServerFrame(frame));
  }

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private async runClose(): Promise<void> {
    clearInterval(this.pushTimer);
    this.stopChanges();
    try {
      // Only this gateway's own URL: another gateway of the node may have taken the tag since.
      const node = this.options.node;
      if (node.state() !== 'stopped' && node.nodesWithTag(CLIENT_URL_TAG, this.url).some((m) => m.nodeId === node.nodeId)) node.removeTag(CLIENT_URL_TAG);
    } catch {
      // The node may be stopping; its tags go with it.
    }
    for (const ws of this.server.clients) ws.close(CLOSE_CODES.shuttingDown, 'gateway closing');
    await this.server.close();
    for (const ws of this.server.clients) ws.terminate();
    this.log.info?.({ url: this.url }, 'client gateway closed');
  }
}

/** The host clients reach: the bound one, or the node's cluster host when bound to every interface. */
function advertisedHost(boundHost: string, clusterAddress: string): string {
  if (boundHost !== '0.0.0.0' && boundHost !== '::') return boundHost;
  const host = clusterAddress.startsWith('[') ? clusterAddress.slice(1, clusterAddress.indexOf(']')) : clusterAddress.slice(0, clusterAddress.lastIndexOf(':'));
  return host === '' ? boundHost : host;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function tableOf(data: PartitionTableData | undefined): OpTable | undefined {
  if (data === undefined) return undefined;
  return { version: data.version, partitionCount: data.partitionCount, owner: (p) => data.assignments[p]?.owner };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
