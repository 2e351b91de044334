/**
 * The source side of one migration: streams every participant's snapshot chunks to the
 * destination, then the changes captured meanwhile, then seals the stream. After the
 * seal each change to the partition is sent at once and the write that made it waits for
 * the destination's acknowledgement (`flush`), so there is no gap between the last
 * copied change and the ownership switch: a write either reached the destination before
 * it was acknowledged, or failed with a retryable error.
 */
import { ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import type { Address } from '../core/model.js';
import type { MigrationInfo } from '../partitions/coordinator-events.js';
import type { Message, MigrateData } from '../protocol/messages.js';
import type { MigrationConfig } from './config.js';
import type { MigrationParticipant } from './participant.js';

/** Where an outgoing migration is. */
export type OutgoingState = 'snapshot' | 'catch-up' | 'sealed' | 'ended';

/** A captured change batch waiting to be sent. */
export interface PendingDelta {
  readonly service: string;
  readonly bytes: Uint8Array;
}

/** What an outgoing migration needs from the executor. */
export interface OutgoingDeps {
  readonly participants: readonly MigrationParticipant[];
  readonly config: MigrationConfig;
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
  /** Take every participant's captured changes of the partition into the pending queues of its migrations. */
  collect(): void;
  /** The stream failed: tell the coordinator (once). */
  onFailed(reason: string): void;
  sleep(ms: number): Promise<void>;
}

/** Bytes a MigrateData counts for in the window beyond its payload. */
const MESSAGE_OVERHEAD_BYTES = 256;

/** One outgoing migration. */
export class OutgoingMigration {
  private stateValue: OutgoingState = 'snapshot';
  private seq = 0;
  private pending: PendingDelta[] = [];
  private pendingBytes = 0;
  private inflightBytes = 0;
  private spaceWaiters: (() => void)[] = [];
  private failed = false;
  /** Resolves when the migration is called off: waiting writes need the destination no more. */
  private readonly calledOff: Promise<void>;
  private resolveCalledOff: () => void = () => undefined;

  constructor(
    readonly info: MigrationInfo,
    private readonly destination: Address,
    private readonly deps: OutgoingDeps,
  ) {
    this.calledOff = new Promise((resolve) => (this.resolveCalledOff = resolve));
  }

  /** Where the stream is. */
  get state(): OutgoingState {
    return this.stateValue;
  }

  /** Queue captured changes (from `collect`); fails the stream when the queue passes its bound. */
  enqueue(delta: PendingDelta): void {
    if (this.stateValue === 'ended') return;
    this.pending.push(delta);
    this.pendingBytes += delta.bytes.byteLength;
    if (this.pendingBytes > this.deps.config.pendingDeltaBytesMax) {
      this.fail(new FlotillaError('FLO_QUEUE_FULL', `migration ${this.info.migrationId}: ${this.pendingBytes} bytes of changes pending`));
    }
  }

  /** Copy everything, catch up, seal. Never rejects: failures end the stream and are reported. */
  async run(): Promise<void> {
    try {
      for (const participant of this.deps.participants) {
        if (!(await this.sendSnapshot(participant))) return;
      }
      if (this.stateValue !== 'snapshot') return;
      this.stateValue = 'catch-up';
      for (let round = 0; round < this.deps.config.catchUpRoundsMax; round++) {
        this.deps.collect();
        if (this.pending.length === 0 || this.isEnded()) break;
        const batch = this.takePending();
        for (const delta of batch) {
          if (!(await this.waitForSpace())) return;
          void this.post(this.message(delta.service, 'delta', delta.bytes, false));
        }
      }
      if (this.isEnded()) return;
      this.seal();
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * After the seal: send the changes captured so far and resolve once the destination
   * has them (or the migration was called off, after which they are not needed).
   * Rejects when the destination did not acknowledge them: the write that made them must
   * not be acknowledged either.
   */
  flush(): Promise<void> {
    if (this.stateValue !== 'sealed' || this.pending.length === 0) return Promise.resolve();
    const sends = this.takePending().map((d) => this.post(this.message(d.service, 'delta', d.bytes, false)));
    return Promise.race([Promise.all(sends).then(() => undefined), this.calledOff]);
  }

  /**
   * Stop: the migration committed (`finalized`, changes in flight still complete) or was
   * called off (writes waiting on a flush are released at once).
   */
  end(cancelled: boolean): void {
    if (this.stateValue === 'ended') return;
    this.stateValue = 'ended';
    this.pending = [];
    this.pendingBytes = 0;
    for (const wake of this.spaceWaiters.splice(0)) wake();
    if (cancelled) this.resolveCalledOff();
  }

  /**
   * End with a failure and report it once. Writes waiting on a flush are not released:
   * their sends fail, so they are not acknowledged (the master may already have
   * committed the migration on an earlier ready).
   */
  fail(error: unknown): void {
    if (this.stateValue === 'ended' || this.failed) return;
    this.failed = true;
    this.end(false);
    this.deps.onFailed(isFlotillaError(error) ? `${error.code}: ${error.message}` : String(error));
  }

  private isEnded(): boolean {
    return this.stateValue === 'ended';
  }

  /** Send one participant's chunks, `last` on the final one (an empty one for an empty partition). */
  private async sendSnapshot(participant: MigrationParticipant): Promise<boolean> {
    let previous: Uint8Array | undefined;
    for await (const chunk of participant.exportChunks(this.info.partition)) {
      if (this.isEnded()) return false;
      if (previous !== undefined && !(await this.sendChunk(participant.name, previous, false))) return false;
      previous = chunk;
      // Keep captured changes moving into the queue while copying so the participant's own buffer stays small.
      this.deps.collect();
    }
    return this.sendChunk(participant.name, previous ?? new Uint8Array(0), true);
  }

  private async sendChunk(service: string, bytes: Uint8Array, last: boolean): Promise<boolean> {
    const message = this.message(service, 'chunk', bytes, last);
    if (message.seq === 0) {
      // The destination may not have heard of the migration yet: the first message is
      // confirmed (with retries) before anything else is pipelined behind it.
      await this.sendFirst(message);
      return !this.isEnded();
    }
    if (!(await this.waitForSpace())) return false;
    void this.post(message);
    return true;
  }

  /** Seal: flush what is captured and mark each participant's stream complete; from now on changes go out one by one. */
  private seal(): void {
    this.deps.collect();
    for (const d of this.takePending()) void this.post(this.message(d.service, 'delta', d.bytes, false));
    for (const participant of this.deps.participants) void this.post(this.message(participant.name, 'delta', new Uint8Array(0), true));
    this.stateValue = 'sealed';
  }

  private message(service: string, kind: MigrateData['kind'], payload: Uint8Array, last: boolean): MigrateData {
    const { migrationId, partition } = this.info;
    return { type: 'MigrateData', migrationId, partition, service, kind, seq: this.seq++, payload, last };
  }

  private takePending(): PendingDelta[] {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return batch;
  }

  private async sendFirst(message: MigrateData): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deliver(message);
        return;
      } catch (error) {
        if (!isFlotillaError(error, 'FLO_NOT_FOUND') || attempt >= this.deps.config.startRetriesMax || this.isEnded()) throw error;
        await this.deps.sleep(this.deps.config.startRetryDelayMs);
      }
    }
  }

  /** Send without waiting; a failure fails the stream. Resolves when acknowledged. */
  private post(message: MigrateData): Promise<void> {
    const size = message.payload.byteLength + MESSAGE_OVERHEAD_BYTES;
    this.inflightBytes += size;
    const sent = this.deliver(message).finally(() => {
      this.inflightBytes -= size;
      const wake = this.spaceWaiters.shift();
      if (wake !== undefined) wake();
    });
    sent.catch((error: unknown) => this.fail(error));
    return sent;
  }

  private async deliver(message: MigrateData): Promise<void> {
    const reply = await this.deps.request(this.destination, message, this.deps.config.dataRequestTimeoutMs);
    if (reply.type !== 'ServiceResponse') throw new FlotillaError('FLO_INTERNAL', `MigrateData answered with ${reply.type}`);
    if (!reply.ok) throw remoteError(reply.errorCode, reply.errorMessage);
  }

  /** Wait until the window has room; false when the stream ended meanwhile. */
  private async waitForSpace(): Promise<boolean> {
    while (!this.isEnded() && this.inflightBytes >= this.deps.config.windowBytesMax) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    return !this.isEnded();
  }
}

/** A FlotillaError from a code a peer sent (unknown codes become FLO_INTERNAL). */
export function remoteError(code: string | undefined, message: string | undefined): FlotillaError {
  const known = code !== undefined && isCatalogued(code) ? code : 'FLO_INTERNAL';
  // The peer's message already starts with the catalog text; do not repeat it.
  const prefix = `${ErrorCatalog[known].message}: `;
  const detail = message?.startsWith(prefix) === true ? message.slice(prefix.length) : (message ?? code);
  return new FlotillaError(known, detail, { remoteCode: code });
}

function isCatalogued(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCatalog, code);
}
