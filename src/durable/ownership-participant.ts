/**
 * A migration participant for services whose data lives only in shared storage behind
 * the epoch fence (timers, workflows): nothing is copied, the service only needs to hear
 * that this node gained or lost a partition, so it can re-read what it now owns (resume
 * workflows, reload the nearest timers) or forget what it no longer does.
 */
import type { MigrationParticipant, ParticipantRole } from '../sharding/participant.js';

const noChunks: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
};

/** Tells its service about role changes; moves no bytes. */
export class OwnershipParticipant implements MigrationParticipant {
  constructor(
    readonly name: string,
    private readonly onRole: (partition: number, role: ParticipantRole) => void,
  ) {}

  exportChunks(_partition: number): AsyncIterable<Uint8Array> {
    return noChunks;
  }

  beginCapture(_partition: number): void {
    // Storage is shared: a deposed owner's next commit is refused by the fence.
  }

  takeDeltas(_partition: number): Uint8Array[] {
    return [];
  }

  endCapture(_partition: number): void {
    // Nothing captured.
  }

  applyChunk(_partition: number, _bytes: Uint8Array): void {
    // Nothing exported.
  }

  applyDelta(_partition: number, _bytes: Uint8Array): void {
    // Nothing exported.
  }

  finalize(partition: number, role: ParticipantRole): void {
    this.onRole(partition, role);
  }

  cancel(_partition: number, _side: 'source' | 'destination'): void {
    // Nothing received, nothing to discard.
  }

  merge(_partition: number, _bytes: Uint8Array): void {
    // Storage never diverges behind the fence: nothing to reconcile.
  }
}
