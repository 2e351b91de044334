/**
 * One client connection to one node's gateway: connect, authenticate, send operations
 * (batched per turn into BATCH frames), match answers to calls, time calls out, and
 * reconnect after a loss with exponential backoff and jitter. A circuit breaker keeps a
 * node that keeps failing out of routing for a cooldown, then lets one trial through.
 */
import { FlotillaError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Timers, TimerHandle } from '../core/timers.js';
import {
  decodeServerFrame,
  encodeClientFrame,
  type ClientCall,
  type ClientOp,
  type ClientPartitionMap,
  type ClientSubscription,
  type ServerFrame,
} from '../protocol/client-frames.js';
import { PAYLOAD_BYTES_MAX } from '../protocol/limits.js';
import { remoteError } from './answers.js';
import type { ClientConfig } from './client-config.js';
import { messageBytes, SOCKET_OPEN, type ClientSocket, type SocketConstructor } from './socket.js';

/** An answer to one op: its RESULT or ERROR frame. */
export type OpAnswer = Extract<ServerFrame, { type: 'RESULT' | 'ERROR' }>;

/** What a connection reports to its client. */
export interface ConnectionHooks {
  /** A partition map from this connection's node. */
  onMap(map: ClientPartitionMap, conn: NodeConnection): void;
  /** Authenticated (again): work may flow. */
  onReady(conn: NodeConnection): void;
  /** Lost, or refused: calls in flight were failed. */
  onDown(conn: NodeConnection): void;
  onAuthFailed(conn: NodeConnection, code: string, message: string): void;
  /** A change event of one of the client's subscriptions. */
  onEvent(event: Extract<ServerFrame, { type: 'EVENT' }>, conn: NodeConnection): void;
  /** A RESULT no request waits for: the answer to a SUBSCRIBE (the id is the subscription's). */
  onSubscribed(id: number, payload: Uint8Array | null, conn: NodeConnection): void;
  /** An ERROR no request waits for: a node refused a SUBSCRIBE (the id is the subscription's). */
  onSubscribeRefused?(id: number, error: FlotillaError): void;
  /** The node dropped events of subscription `id` (EVENTS_DROPPED). */
  onEventsDropped(id: number, conn: NodeConnection): void;
}

/** What a connection is built with. */
export interface ConnectionParts {
  readonly url: string;
  readonly config: ClientConfig;
  readonly timers: Timers;
  readonly random: Random;
  readonly Socket: SocketConstructor;
  readonly token: () => string | undefined;
  readonly hooks: ConnectionHooks;
  /** The client's subscriptions, (re)sent to `conn` on every authentication. */
  readonly subscriptions: (conn: NodeConnection) => readonly ClientSubscription[];
}

/** How `callWith` hears its answer: the node's (RESULT or ERROR), or the error that ended the call here. */
export type AnswerCallback = (answer: OpAnswer | undefined, error?: FlotillaError) => void;

interface Call {
  resolve(answer: OpAnswer): void;
  reject(error: FlotillaError): void;
  /** When the call times out (host time, ms). */
  readonly deadline: number;
}

/** A call answered through a callback: one object per call instead of a promise, its resolvers and a closure. */
class CallbackCall implements Call {
  constructor(
    private readonly done: AnswerCallback,
    readonly deadline: number,
  ) {}
  resolve(answer: OpAnswer): void {
    try {
      this.done(answer);
    } catch (error) {
      throwLater(error);
    }
  }
  reject(error: FlotillaError): void {
    try {
      this.done(undefined, error);
    } catch (thrown) {
      throwLater(thrown);
    }
  }
}

/**
 * A throw in a callback that settles a call surfaces on its own (as a throw in a promise's
 * handler would) instead of cutting short the settling of the other calls of a RESULTS
 * frame or of a lost connection.
 */
function throwLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

function notConnected(url: string): FlotillaError {
  return new FlotillaError('FLO_CONNECTION_FAILED', `${url} is not connected`);
}

type State = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'unauthorized' | 'closed';

/** A connection to one gateway. */
export class NodeConnection {
  readonly url: string;
  /** The node id the gateway reported in AUTH_ACK. */
  nodeId: string | undefined;
  private state: State = 'idle';
  private socket: ClientSocket | undefined;
  /** Calls waiting for their answer, oldest first: every call gets the same timeout, so this is also deadline order. */
  private readonly calls = new Map<number, Call>();
  /**
   * One timer for all calls, due at the oldest call's deadline: a timer per call cost a
   * timer set and a cancel per operation.
   */
  private deadlineTimer: TimerHandle | undefined;
  private outbox: ClientOp[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private attempts = 0;
  private failures = 0;
  private breakerOpenUntil = 0;
  private reconnectTimer: TimerHandle | undefined;

  constructor(private readonly parts: ConnectionParts) {
    this.url = parts.url;
  }

  /** Authenticated, and the breaker lets calls through. */
  usable(): boolean {
    return this.state === 'ready' && this.parts.timers.now() >= this.breakerOpenUntil;
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  /** Start connecting unless already connected, connecting, waiting to retry, or closed. */
  open(): void {
    if (this.state !== 'idle' || this.reconnectTimer !== undefined) return;
    if (this.parts.token() === undefined) {
      this.state = 'unauthorized';
      return;
    }
    this.state = 'connecting';
    let socket: ClientSocket;
    try {
      socket = new this.parts.Socket(this.url);
    } catch {
      this.lost();
      return;
    }
    this.socket = socket;
    // ws (Node) hands a message's own Buffer over as 'nodebuffer', where 'arraybuffer' costs a
    // copy per message; a WebSocket without that type (browsers, undici) is set to 'arraybuffer'.
    socket.binaryType = 'nodebuffer';
    if (socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => this.onMessage(socket, event.data);
    socket.onclose = () => {
      if (this.socket === socket) this.lost();
    };
    socket.onerror = () => undefined;
  }

  /** A new token: sent at once on a ready connection (extending it), or used by the next connect. */
  tokenChanged(): void {
    const token = this.parts.token();
    if (token === undefined) return;
    if (this.state === 'ready') this.sendFrame({ type: 'AUTH', token });
    else if (this.state === 'unauthorized') {
      this.state = 'idle';
      this.open();
    }
  }

  /** Start (or stop, with `subscribe` false) a subscription on this connection, when ready. */
  subscription(sub: ClientSubscription, subscribe: boolean): void {
    if (this.state !== 'ready') return;
    this.sendFrame(subscribe ? { type: 'SUBSCRIBE', sub } : { type: 'UNSUBSCRIBE', id: sub.id });
  }

  /** Ask for the partition map (answered with PARTITION_MAP). */
  requestMap(version: number): void {
    if (this.state === 'ready') this.sendFrame({ type: 'MAP_REQUEST', version });
  }

  /** Send `op` (batched with others of this turn); resolves with its answer. */
  call(op: Omit<ClientOp, 'id'>): Promise<OpAnswer> {
    return this.request((id) => this.queue(id, op, op.forward));
  }

  /**
   * Send `op` as `call` does, answered through `done` instead of a promise: the path of
   * every write, where a promise and its two resolvers per attempt were a large part of
   * the client's garbage.
   */
  callWith(op: Omit<ClientOp, 'id' | 'forward'>, forward: boolean, done: AnswerCallback): void {
    if (this.state !== 'ready') {
      done(undefined, notConnected(this.url));
      return;
    }
    const id = this.nextId++;
    this.track(id, new CallbackCall(done, this.parts.timers.now() + this.parts.config.requestTimeoutMs));
    this.queue(id, op, forward);
  }

  private queue(id: number, op: Omit<ClientOp, 'id' | 'forward'>, forward: boolean): void {
    this.outbox.push({ id, map: op.map, op: op.op, key: op.key, value: op.value, forward });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.parts.timers.defer(this.flushNow);
    }
  }

  private readonly flushNow = (): void => this.flush();

  /** Send an entity call (a CALL frame of its own); resolves with its answer. */
  callEntity(call: Omit<ClientCall, 'id'>): Promise<OpAnswer> {
    return this.request((id) => this.sendFrame({ type: 'CALL', call: { ...call, id } }));
  }

  /** Register a request under a fresh id, time it out after `requestTimeoutMs`, and send it. */
  private request(send: (id: number) => void): Promise<OpAnswer> {
    if (this.state !== 'ready') return Promise.reject(notConnected(this.url));
    const id = this.nextId++;
    return new Promise<OpAnswer>((resolve, reject) => {
      this.track(id, { resolve, reject, deadline: this.parts.timers.now() + this.parts.config.requestTimeoutMs });
      send(id);
    });
  }

  private track(id: number, call: Call): void {
    this.calls.set(id, call);
    if (this.deadlineTimer === undefined) this.armDeadline(call.deadline);
  }

  private armDeadline(at: number): void {
    this.deadlineTimer = this.parts.timers.at(at, () => this.expireCalls());
  }

  /** Time out every call past its deadline, then wait for the next oldest (if any). */
  private expireCalls(): void {
    this.deadlineTimer = undefined;
    const now = this.parts.timers.now();
    for (const [id, call] of this.calls) {
      if (call.deadline > now) {
        this.armDeadline(call.deadline);
        return;
      }
      this.calls.delete(id);
      this.noteFailure();
      call.reject(new FlotillaError('FLO_TIMEOUT', `${this.url} did not answer in ${this.parts.config.requestTimeoutMs} ms`));
    }
  }

  /** Close for good: calls in flight fail, no reconnect. */
  close(): void {
    this.state = 'closed';
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'client closed');
    this.failCalls('the client closed');
  }

  private flush(): void {
    this.flushScheduled = false;
    const ops = this.outbox;
    this.outbox = [];
    if (ops.length === 1) {
      this.sendFrame({ type: 'OP', op: ops[0]! });
      return;
    }
    const max = this.parts.config.batchOpsMax;
    for (let i = 0; i < ops.length; i += max) {
      const chunk = ops.slice(i, i + max);
      this.sendFrame(chunk.length === 1 ? { type: 'OP', op: chunk[0]! } : { type: 'BATCH', ops: chunk });
    }
  }

  private sendFrame(frame: Parameters<typeof encodeClientFrame>[0]): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== SOCKET_OPEN) return;
    try {
      socket.send(encodeClientFrame(frame));
    } catch {
      // The close event follows and fails the calls.
    }
  }

  private onMessage(socket: ClientSocket, data: unknown): void {
    const bytes = messageBytes(data);
    let frame: ServerFrame;
    try {
      if (bytes === undefined) throw new FlotillaError('FLO_DECODE_INVALID', 'text frame');
      frame = decodeServerFrame(bytes, PAYLOAD_BYTES_MAX);
    } catch {
      // A gateway speaking garbage is a broken node: drop the connection and retry later.
      socket.close(1002, 'malformed frame');
      return;
    }
    this.onFrame(frame);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'AUTH_REQUIRED': {
        const token = this.parts.token();
        this.state = 'authenticating';
        if (token !== undefined) this.sendFrame({ type: 'AUTH', token });
        return;
      }
      case 'AUTH_ACK': {
        const first = this.state !== 'ready';
        this.nodeId = frame.nodeId;
        this.state = 'ready';
        this.attempts = 0;
        this.failures = 0;
        if (first) {
          for (const sub of this.parts.subscriptions(this)) this.sendFrame({ type: 'SUBSCRIBE', sub });
          this.parts.hooks.onReady(this);
        }
        return;
      }
      case 'AUTH_FAIL':
        this.state = 'unauthorized';
        this.parts.hooks.onAuthFailed(this, frame.code, frame.message);
        return;
      case 'PARTITION_MAP':
        this.parts.hooks.onMap(frame.map, this);
        return;
      case 'EVENT':
        this.parts.hooks.onEvent(frame, this);
        return;
      case 'EVENTS_DROPPED':
        this.parts.hooks.onEventsDropped(frame.id, this);
        return;
      case 'RESULTS':
        for (const { id, payload } of frame.results) this.settle({ type: 'RESULT', id, payload });
        return;
      case 'RESULT':
      case 'ERROR':
        this.settle(frame);
    }
  }

  private settle(answer: OpAnswer): void {
    const call = this.calls.get(answer.id);
    if (call === undefined) {
      if (answer.type === 'RESULT') this.parts.hooks.onSubscribed(answer.id, answer.payload, this);
      else this.parts.hooks.onSubscribeRefused?.(answer.id, remoteError(answer.code, answer.message));
      return;
    }
    this.calls.delete(answer.id);
    this.failures = 0;
    call.resolve(answer);
  }

  private noteFailure(): void {
    this.failures++;
    if (this.failures >= this.parts.config.breakerFailuresMax) this.breakerOpenUntil = this.parts.timers.now() + this.parts.config.breakerCooldownMs;
  }

  private lost(): void {
    const wasUnauthorized = this.state === 'unauthorized';
    this.socket = undefined;
    this.failCalls(`lost the connection to ${this.url}`);
    if (this.state === 'closed') return;
    this.noteFailure();
    this.parts.hooks.onDown(this);
    // Refused credentials wait for `setAuthToken`; anything else retries with backoff.
    this.state = wasUnauthorized ? 'unauthorized' : 'idle';
    if (wasUnauthorized) return;
    const { reconnectBaseMs, reconnectMaxMs } = this.parts.config;
    const backoff = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    const now = this.parts.timers.now();
    const at = Math.max(now + backoff * (0.5 + this.parts.random.next() / 2), this.breakerOpenUntil);
    this.reconnectTimer = this.parts.timers.at(at, () => {
      this.reconnectTimer = undefined;
      if (this.state === 'idle') this.open();
    });
  }

  /** Fail every call; one that had been sent may have run on the node (`inFlight`). */
  private failCalls(why: string): void {
    const calls = [...this.calls];
    const unsent = new Set(this.outbox.map((op) => op.id));
    this.calls.clear();
    this.outbox = [];
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    for (const [id, call] of calls) {
      call.reject(new FlotillaError('FLO_CONNECTION_FAILED', why, { inFlight: !unsent.has(id) }));
    }
  }
}
