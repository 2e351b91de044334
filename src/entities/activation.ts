/**
 * One activation: an entity held in memory on its owner. It keeps the state, the bytes
 * last saved and their stored version, and the mailbox of calls waiting for their turn;
 * `execute` runs one call's handler with the trait hooks around it and reports whether
 * (and to what) the state changed. A failed call leaves the state as last saved.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { StoredEntity } from '../storage/storage.js';
import type { EntityCall } from './call.js';
import type { CallInfo, CallOutcome, EntityContext, TraitContext } from './context.js';
import type { AnyEntityDefinition } from './definition.js';
import type { EntityType } from './entity-type.js';
import type { EntityRef } from './ref.js';
import { decodeState, encodeState, sameBytes } from './state-codec.js';
import type { AnyTraitDefinition } from './trait.js';

/** A call waiting in a mailbox. */
export interface MailboxItem {
  readonly call: EntityCall;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What a turn needs from the runtime. */
export interface TurnEnv {
  readonly nodeId: NodeId;
  readonly stateBytesMax: number;
  now(): number;
  /** A ref for `ctx.entity`: its calls carry `chain`. */
  refFor(definition: AnyEntityDefinition, id: string, chain: readonly string[]): EntityRef<AnyEntityDefinition>;
}

/** The outcome of one handler run: its result, and the bytes to save when the state changed. */
export interface TurnResult {
  readonly result: unknown;
  readonly bytes: Uint8Array | undefined;
}

/** Most call ids remembered per activation for answering retries from the first outcome. */
export const RECENT_CALLS_MAX = 64;

/** An entity held in memory. */
export class Activation {
  readonly key: string;
  readonly mailbox: MailboxItem[] = [];
  state: unknown;
  traitStates: Record<string, unknown> = {};
  /** The bytes last saved (or loaded, or the initial state's when nothing is stored). */
  savedBytes: Uint8Array = new Uint8Array(0);
  /** Stored version of `savedBytes` (0: no record). */
  version = 0;
  /** The epoch the state was loaded under; a different epoch means reload. */
  epoch = -1;
  loaded = false;
  /** Turns running: the outer one plus re-entrant ones inside it. */
  running = 0;
  /** Whether the mailbox loop is active. */
  draining = false;
  /** Ownership was lost: queued calls are refused, the activation is gone from the map. */
  dropped = false;
  lastUsedAt: number;
  /** Outcomes of recent calls by call id (bounded by RECENT_CALLS_MAX), for retries; made on first use. */
  private recentCalls: Map<string, Promise<unknown>> | undefined;
  private idleWaiters: (() => void)[] | undefined;

  constructor(
    readonly type: EntityType,
    readonly id: string,
    readonly partition: number,
    now: number,
  ) {
    this.key = `${type.definition.type}/${id}`;
    this.lastUsedAt = now;
  }

  /** No call running or waiting. */
  idle(): boolean {
    return this.running === 0 && this.mailbox.length === 0;
  }

  /** Resolves once the activation is idle. */
  whenIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  /** Wake `whenIdle` waiters if idle. */
  notifyIfIdle(): void {
    if (!this.idle() || this.idleWaiters === undefined) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = undefined;
    for (const wake of waiters) wake();
  }

  /** Remember a call's outcome under its id; the oldest is forgotten beyond the bound. */
  remember(callId: string, outcome: Promise<unknown>): void {
    const recent = (this.recentCalls ??= new Map());
    recent.set(callId, outcome);
    if (recent.size > RECENT_CALLS_MAX) recent.delete(recent.keys().next().value!);
  }

  /** The outcome of a recent call with this id, if remembered. */
  recall(callId: string): Promise<unknown> | undefined {
    return this.recentCalls?.get(callId);
  }

  /** Forget `callId` if it still maps to `outcome`. */
  forget(callId: string, outcome: Promise<unknown>): void {
    if (this.recentCalls?.get(callId) === outcome) this.recentCalls.delete(callId);
  }

  /** Take the stored record (or none: a new entity) as the state, under `epoch`. */
  load(stored: StoredEntity | undefined, epoch: number): void {
    const def = this.type.definition;
    if (stored === undefined) {
      this.state = def.state();
      this.traitStates = {};
      for (const trait of def.traits) this.traitStates[trait.name] = trait.state();
      this.savedBytes = this.encode();
      this.version = 0;
    } else {
      this.savedBytes = stored.state.slice();
      this.version = stored.version;
      this.restore();
    }
    this.epoch = epoch;
    this.loaded = true;
  }

  /** Put the state back to what was last saved. */
  restore(): void {
    const doc = decodeState(this.savedBytes);
    this.state = doc.state;
    this.traitStates = {};
    // A trait added to the type after the entity was stored starts from its initial slice.
    for (const trait of this.type.definition.traits) this.traitStates[trait.name] = Object.hasOwn(doc.traits, trait.name) ? doc.traits[trait.name] : trait.state();
  }

  /** The state saved: keep the bytes as the new baseline. */
  saved(bytes: Uint8Array, version: number): void {
    this.savedBytes = bytes;
    this.version = version;
  }

  encode(): Uint8Array {
    return encodeState({ state: this.state, traits: this.traitStates });
  }

  /**
   * Run `call`'s handler with the trait hooks around it. On success, `bytes` holds the
   * new encoding when the state changed (size-checked). On failure the state is put back
   * as last saved and the error is rethrown as the caller should see it.
   */
  async execute(call: EntityCall, env: TurnEnv): Promise<TurnResult> {
    const entry = this.type.handlers.get(call.handler);
    if (entry === undefined) throw new FlotillaError('FLO_HANDLER_UNKNOWN', `${this.type.definition.type}.${call.handler}`);
    const info: CallInfo = { handler: call.handler, args: call.args, meta: call.meta };
    const chain = [...call.chain, this.key];
    try {
      for (const trait of this.type.definition.traits) trait.beforeCall?.(this.traitContext(trait, env) as never, info);
      const ctx = entry.trait === undefined ? this.entityContext(env, chain) : this.traitContext(entry.trait, env);
      const result: unknown = await entry.fn(ctx, ...call.args);
      return { result, bytes: this.settle(info, result, env) };
    } catch (error) {
      this.restore();
      throw callerError(error);
    }
  }

  /** After a handler: detect the change, run `afterCall` hooks, check the size. */
  private settle(info: CallInfo, result: unknown, env: TurnEnv): Uint8Array | undefined {
    let bytes = this.encode();
    const changed = !sameBytes(bytes, this.savedBytes);
    const hooked = this.type.definition.traits.filter((t) => t.afterCall !== undefined);
    if (hooked.length > 0) {
      const outcome: CallOutcome = { ...info, changed, result };
      for (const trait of hooked) trait.afterCall!(this.traitContext(trait, env) as never, outcome);
      bytes = this.encode();
    }
    if (!changed) {
      // Hooks alone do not make a change worth saving; keep memory equal to storage.
      if (!sameBytes(bytes, this.savedBytes)) this.restore();
      return undefined;
    }
    if (bytes.byteLength > env.stateBytesMax) {
      throw new FlotillaError('FLO_STATE_TOO_LARGE', `${this.key}: ${bytes.byteLength} bytes, limit ${env.stateBytesMax}`, { bytes: bytes.byteLength, limit: env.stateBytesMax });
    }
    return bytes;
  }

  private entityContext(env: TurnEnv, chain: readonly string[]): EntityContext<unknown> {
    return new HandlerContext(this, env, chain);
  }

  private traitContext(trait: AnyTraitDefinition, env: TurnEnv): TraitContext<unknown> {
    return new TraitHandlerContext(this, trait.name, env);
  }
}

/** `ctx` of an entity handler: `state` reads and writes the activation's. */
class HandlerContext implements EntityContext<unknown> {
  readonly id: string;
  readonly type: string;
  readonly nodeId: NodeId;

  constructor(
    private readonly act: Activation,
    private readonly env: TurnEnv,
    private readonly chain: readonly string[],
  ) {
    this.id = act.id;
    this.type = act.type.definition.type;
    this.nodeId = env.nodeId;
  }

  get state(): unknown {
    return this.act.state;
  }

  set state(value: unknown) {
    this.act.state = value;
  }

  entity<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D> {
    return this.env.refFor(definition, id, this.chain) as unknown as EntityRef<D>;
  }

  now(): number {
    return this.env.now();
  }
}

/** `ctx` of a trait handler or hook: `state` is the trait's slice. */
class TraitHandlerContext implements TraitContext<unknown> {
  readonly id: string;
  readonly type: string;
  readonly nodeId: NodeId;

  constructor(
    private readonly act: Activation,
    private readonly name: string,
    private readonly env: TurnEnv,
  ) {
    this.id = act.id;
    this.type = act.type.definition.type;
    this.nodeId = env.nodeId;
  }

  get state(): unknown {
    return this.act.traitStates[this.name];
  }

  set state(value: unknown) {
    this.act.traitStates[this.name] = value;
  }

  get entityState(): unknown {
    return this.act.state;
  }

  now(): number {
    return this.env.now();
  }
}

/** A handler's failure as its caller sees it: FlotillaErrors keep their code, others become FLO_HANDLER_FAILED. */
export function callerError(error: unknown): FlotillaError {
  if (isFlotillaError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FlotillaError('FLO_HANDLER_FAILED', message, error instanceof Error ? { name: error.name } : undefined);
}
