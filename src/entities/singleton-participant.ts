/**
 * Singletons as a migration participant. Their record lives in shared storage behind the
 * fence, so nothing is copied; the participant only times the handover: when a planned
 * move of a partition starts on its owner, the singletons of that partition stop (their
 * function's signal aborts, bounded by each one's handover wait) and record the end of
 * their leadership before the copy reports ready, so the new owner takes over after the
 * old one ended. On a commit, a cancel or a role change the singletons of the partition
 * are reconciled with the table at once.
 */
import type { MigrationParticipant, ParticipantRole, ParticipantSide } from '../sharding/participant.js';
import { SINGLETON_SERVICE } from './singleton-ops.js';

/** What the participant needs from the singleton service. */
export interface SingletonParticipantDeps {
  /** Reconcile the singletons of `partition` with the table now. */
  reconcile(partition: number): void;
  /** Resolves once the singletons of `partition` finished their transitions. */
  settled(partition: number): Promise<void>;
}

/** The `singletons` migration participant. */
export class SingletonParticipant implements MigrationParticipant {
  readonly name = SINGLETON_SERVICE;

  constructor(private readonly deps: SingletonParticipantDeps) {}

  beginCapture(partition: number): void {
    this.deps.reconcile(partition);
  }

  exportChunks(partition: number): AsyncIterable<Uint8Array> {
    const settled = (): Promise<void> => this.deps.settled(partition);
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          await settled();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  takeDeltas(_partition: number): Uint8Array[] {
    return [];
  }

  endCapture(partition: number): void {
    this.deps.reconcile(partition);
  }

  applyChunk(_partition: number, _bytes: Uint8Array): void {
    // Singleton records live in shared storage: nothing travels.
  }

  applyDelta(_partition: number, _bytes: Uint8Array): void {
    // Nothing travels.
  }

  finalize(partition: number, _role: ParticipantRole): void {
    this.deps.reconcile(partition);
  }

  cancel(partition: number, _side: ParticipantSide): void {
    this.deps.reconcile(partition);
  }

  merge(_partition: number, _bytes: Uint8Array): void {
    // The fence keeps one writer per epoch: nothing to reconcile.
  }
}
