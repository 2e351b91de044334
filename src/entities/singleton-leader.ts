/**
 * One leadership of one singleton on this node: the user's function running under an
 * abort signal, and the only writer of the singleton's record while it leads. Every change
 * (a counter value, a history edit) is a fenced write at the leadership's epoch, queued
 * and batched (group commit) and acknowledged only once committed; a refused write means
 * a newer owner fenced this one, and the leadership ends.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { sleep, withDeadline, type Timers } from '../core/timers.js';
import type { Storage } from '../storage/storage.js';
import type { SingletonContext, SingletonDefinition } from './singleton-definition.js';
import { encodeRecord, SINGLETON_RECORD_TYPE, withCounterAdvanced, withLeaderClosed, type SingletonRecord } from './singleton-record.js';

/** Most changes waiting for the leader's next write; more fail with FLO_QUEUE_FULL. */
export const LEADER_QUEUE_MAX = 10_000;
/** Most changes folded into one write. */
export const LEADER_BATCH_MAX = 1_000;

/** What a leadership needs. */
export interface LeaderDeps {
  readonly definition: SingletonDefinition;
  readonly self: NodeId;
  readonly partition: number;
  readonly epoch: number;
  readonly storage: Storage;
  readonly timers: Timers;
  readonly logger: Logger;
  /** A write was refused behind the fence: a newer owner holds the partition. */
  onDeposed(epoch: number): void;
}

/** A change of the record: the next record and what the caller gets. */
export type RecordChange<T> = (record: SingletonRecord) => { record: SingletonRecord; result: T };

interface Pending {
  readonly change: RecordChange<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One leadership, from takeover to step-down. */
export class SingletonLeader {
  private readonly abort = new AbortController();
  private readonly queue: Pending[] = [];
  private writing = false;
  private running: Promise<void> = Promise.resolve();
  /** Set once the step-down began: clients are sent elsewhere. */
  private leaving = false;
  /** Set once the step-down's last write is queued: nothing else is accepted. */
  private closed = false;

  constructor(
    private readonly deps: LeaderDeps,
    private recordValue: SingletonRecord,
    private version: number,
  ) {}

  get epoch(): number {
    return this.deps.epoch;
  }

  /** The record as last committed. */
  get record(): SingletonRecord {
    return this.recordValue;
  }

  /** True until the step-down began. */
  get serving(): boolean {
    return !this.leaving;
  }

  /** Run the singleton's function (again after a throw, until the leadership ends). */
  start(): void {
    const context: SingletonContext = {
      name: this.deps.definition.name,
      nodeId: this.deps.self,
      epoch: this.deps.epoch,
      signal: this.abort.signal,
      timers: this.deps.timers,
      logger: this.deps.logger,
      next: () => this.next(),
    };
    this.running = this.runLoop(context);
  }

  /** The next counter value, once its write committed. */
  next(): Promise<number> {
    return this.change((record) => {
      const advanced = withCounterAdvanced(record);
      return { record: advanced, result: advanced.counter };
    });
  }

  /** Apply `change` to the record through a fenced write; resolves with its result once committed. */
  change<T>(change: RecordChange<T>): Promise<T> {
    if (this.closed) return Promise.reject(notLeading(this.deps.definition.name));
    if (this.queue.length >= LEADER_QUEUE_MAX) return Promise.reject(new FlotillaError('FLO_QUEUE_FULL', `singleton ${this.deps.definition.name}: ${LEADER_QUEUE_MAX} changes already wait`));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ change, resolve: resolve as (value: unknown) => void, reject });
      void this.pump();
    });
  }

  /**
   * End the leadership: abort the function, wait for it (at most `handoverWaitMs`), then
   * record the end of the leadership (refused harmlessly when a newer owner fenced this one).
   */
  async stepDown(): Promise<void> {
    this.leaving = true;
    this.abort.abort(new FlotillaError('FLO_NOT_OWNER', `singleton ${this.deps.definition.name} is no longer led by ${this.deps.self}`));
    const { timers, definition } = this.deps;
    const deadline = timers.now() + definition.handoverWaitMs;
    const ended = await withDeadline(this.running, deadline, timers, `singleton ${definition.name} handover`).then(
      () => true,
      () => false,
    );
    // A stopping host fires its timers early: that is no overrun of the handover wait.
    if (!ended && timers.now() >= deadline) this.deps.logger.warn({ singleton: definition.name, waitMs: definition.handoverWaitMs }, 'singleton: still running after its handover wait; letting it go (its writes are fenced)');
    const close = this.change((record) => ({ record: withLeaderClosed(record, this.deps.self, this.deps.epoch, timers.now()), result: undefined }));
    this.closed = true;
    await close.catch((error: unknown) => {
      if (!isFlotillaError(error, 'FLO_NOT_OWNER')) this.deps.logger.warn({ singleton: definition.name, err: error }, 'singleton: could not record the end of its leadership');
    });
  }

  private async runLoop(ctx: SingletonContext): Promise<void> {
    const { definition, logger, timers } = this.deps;
    while (!ctx.signal.aborted) {
      try {
        await definition.run(ctx);
        if (!ctx.signal.aborted) logger.info({ singleton: definition.name }, 'singleton: its function returned; it keeps leading');
        return;
      } catch (err) {
        if (ctx.signal.aborted) return;
        logger.error({ singleton: definition.name, err }, 'singleton: its function threw; running it again');
        await sleep(timers, definition.restartDelayMs);
      }
    }
  }

  /** Write queued changes, a batch per write, one write at a time. */
  private async pump(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) await this.writeBatch(this.queue.splice(0, LEADER_BATCH_MAX));
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let record = this.recordValue;
    const applied: { pending: Pending; result: unknown }[] = [];
    for (const pending of batch) {
      try {
        const out = pending.change(record);
        record = out.record;
        applied.push({ pending, result: out.result });
      } catch (error) {
        pending.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (applied.length === 0) return;
    const failAll = (error: Error): void => applied.forEach((a) => a.pending.reject(error));
    const { deps } = this;
    let outcome;
    try {
      [outcome] = await deps.storage.writeEntities([
        { partition: deps.partition, epoch: deps.epoch, writer: deps.self, type: SINGLETON_RECORD_TYPE, id: deps.definition.name, state: encodeRecord(record), expectedVersion: this.version },
      ]);
    } catch (error) {
      failAll(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (outcome?.ok === true) {
      this.recordValue = record;
      this.version = outcome.version;
      for (const a of applied) a.pending.resolve(a.result);
      return;
    }
    // A refused write: a newer owner fenced this one (a version conflict means the same).
    deps.logger.warn({ singleton: deps.definition.name, epoch: deps.epoch, err: outcome?.error }, 'singleton: write refused; stepping down');
    this.leaving = true;
    failAll(notLeading(deps.definition.name));
    deps.onDeposed(deps.epoch);
  }
}

function notLeading(name: string): FlotillaError {
  return new FlotillaError('FLO_NOT_OWNER', `singleton ${name} is not led here`);
}
