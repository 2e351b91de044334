/**
 * Entities as a migration participant. Entity state lives in shared storage behind the
 * epoch fence, so nothing is copied: on a planned move of ownership the source seals the
 * partition (new calls are refused with FLO_NOT_OWNER and retried by their callers at
 * the new owner), lets running calls finish and save, and passivates the partition's
 * entities; the destination claims the new epoch when it becomes owner and activates
 * entities on demand. A cancelled move unseals.
 */
import type { NodeId } from '../core/model.js';
import type { Logger as NodeLogger } from '../core/logger.js';
import type { Timers } from '../core/timers.js';
import type { MigrationParticipant, ParticipantRole, ParticipantSide } from '../sharding/participant.js';
import { ENTITY_SERVICE } from './call-codec.js';
import type { NodeEntityGate } from './node-gate.js';
import type { EntityRuntime } from './runtime.js';

/** What the participant needs. */
export interface EntityParticipantDeps {
  readonly self: NodeId;
  readonly gate: NodeEntityGate;
  readonly logger: NodeLogger;
  /** Longest wait for running calls before a sealed partition's activations are dropped, ms. */
  readonly passivateWaitMs: number;
  /** The host's timers (known once the service starts). */
  timers(): Timers;
  runtime(): EntityRuntime | undefined;
  /** Whether this node is the source of an in-flight migration moving `partition`'s ownership. */
  movingOwnerOut(partition: number): boolean;
}

const noChunks: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
};

/** The `entities` migration participant. */
export class EntityParticipant implements MigrationParticipant {
  readonly name = ENTITY_SERVICE;
  /** Moves out this node sealed partitions for, and activations passivated by them. */
  readonly stats = { sealedMoves: 0, passivated: 0, droppedAtTimeout: 0 };

  constructor(private readonly deps: EntityParticipantDeps) {}

  beginCapture(partition: number): void {
    if (!this.deps.movingOwnerOut(partition)) return;
    this.deps.gate.seal(partition);
    this.stats.sealedMoves++;
  }

  exportChunks(partition: number): AsyncIterable<Uint8Array> {
    if (!this.deps.gate.isSealed(partition)) return noChunks;
    return {
      [Symbol.asyncIterator]: () => {
        let done = false;
        return {
          next: async () => {
            if (!done) {
              done = true;
              await this.passivate(partition);
            }
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  takeDeltas(_partition: number): Uint8Array[] {
    return [];
  }

  endCapture(_partition: number): void {
    // The seal holds until the move commits or is called off.
  }

  applyChunk(_partition: number, _bytes: Uint8Array): void {
    // Entities export nothing: their state is in shared storage.
  }

  applyDelta(_partition: number, _bytes: Uint8Array): void {
    // Entities export nothing.
  }

  finalize(partition: number, role: ParticipantRole): void {
    this.deps.gate.unseal(partition);
    if (role === 'owner') {
      this.deps.gate.claimOwned(partition);
      return;
    }
    const dropped = this.deps.runtime()?.dropPartition(partition) ?? 0;
    if (dropped > 0) this.deps.logger.debug({ partition, role, dropped }, 'entities: partition left this node');
  }

  cancel(partition: number, side: ParticipantSide): void {
    if (side === 'source') this.deps.gate.unseal(partition);
  }

  merge(_partition: number, _bytes: Uint8Array): void {
    // Entity state never diverges (the fence refuses a deposed writer): nothing to reconcile.
  }

  /** Wait (bounded) for running calls of a sealed partition, then passivate its entities. */
  private async passivate(partition: number): Promise<void> {
    const runtime = this.deps.runtime();
    if (runtime === undefined) return;
    const timers = this.deps.timers();
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = timers.at(timers.now() + this.deps.passivateWaitMs, () => resolve('timeout'));
    });
    const outcome = await Promise.race([runtime.passivatePartition(partition), timeout]);
    timer?.cancel();
    if (outcome !== 'timeout') {
      this.stats.passivated += outcome;
    } else {
      const dropped = runtime.dropPartition(partition);
      this.stats.droppedAtTimeout += dropped;
      this.deps.logger.warn({ partition, dropped, waitMs: this.deps.passivateWaitMs }, 'entities: calls still running at a move; their saves will be fenced');
    }
  }
}
