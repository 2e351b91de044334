/**
 * The destination side of one migration: applies the source's `MigrateData` in sequence
 * order (duplicates ignored, a bounded number of early ones held back), and knows when
 * it is caught up: every participant's snapshot ended (`last` chunk) and its stream was
 * sealed (`last` delta). Changes that arrive after the seal, even after the commit,
 * apply the same way.
 */
import { FlotillaError } from '../core/errors.js';
import type { Address } from '../core/model.js';
import type { MigrationInfo } from '../partitions/coordinator-events.js';
import type { MigrateData } from '../protocol/messages.js';
import type { MigrationParticipant } from './participant.js';

/** What applying one message did. */
export type IncomingProgress = 'applied' | 'duplicate' | 'buffered' | 'caught-up';

/** One incoming migration. */
export class IncomingMigration {
  private nextSeq = 0;
  private readonly early = new Map<number, MigrateData>();
  private readonly snapshotDone = new Set<string>();
  private readonly sealed = new Set<string>();
  private caughtUp = false;
  /** Set once the migration committed; later messages are changes made after the seal. */
  finished = false;

  constructor(
    readonly info: MigrationInfo,
    /** The source's cluster address: data from anywhere else is refused. */
    readonly sourceAddress: Address,
    private readonly participants: ReadonlyMap<string, MigrationParticipant>,
    private readonly reorderBufferMax: number,
  ) {}

  /** Sequence number of the last message applied (-1 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** True once every participant's snapshot and seal have been applied. */
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /**
   * Take one message. Throws FlotillaError (FLO_INVALID_ARGUMENT for a foreign service or
   * unreadable payload, FLO_QUEUE_FULL when too many arrive early): the migration fails.
   * Returns 'caught-up' the first time the migration becomes caught up.
   */
  accept(message: MigrateData): IncomingProgress {
    if (message.seq < this.nextSeq) return 'duplicate';
    if (message.seq > this.nextSeq) {
      if (this.early.has(message.seq)) return 'duplicate';
      if (this.early.size >= this.reorderBufferMax) {
        throw new FlotillaError('FLO_QUEUE_FULL', `migration ${this.info.migrationId}: ${this.early.size} messages ahead of seq ${this.nextSeq}`);
      }
      this.early.set(message.seq, message);
      return 'buffered';
    }
    this.applyOne(message);
    for (let next = this.early.get(this.nextSeq); next !== undefined; next = this.early.get(this.nextSeq)) {
      this.early.delete(next.seq);
      this.applyOne(next);
    }
    if (!this.caughtUp && this.sealed.size === this.participants.size) {
      this.caughtUp = true;
      return 'caught-up';
    }
    return 'applied';
  }

  private applyOne(message: MigrateData): void {
    const participant = this.participants.get(message.service);
    if (participant === undefined) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `migration ${this.info.migrationId}: no participant named ${message.service} here`);
    }
    const { partition } = this.info;
    if (message.kind === 'chunk') {
      if (this.snapshotDone.has(message.service)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${message.service}: chunk after its last chunk`);
      if (message.payload.byteLength > 0) participant.applyChunk(partition, message.payload);
      if (message.last) this.snapshotDone.add(message.service);
    } else {
      if (!this.snapshotDone.has(message.service)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${message.service}: delta before its last chunk`);
      if (message.payload.byteLength > 0) participant.applyDelta(partition, message.payload);
      if (message.last) this.sealed.add(message.service);
    }
    this.nextSeq = message.seq + 1;
  }
}
