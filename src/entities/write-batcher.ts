/**
 * Group commit: entity writes that become ready while a storage transaction is in flight
 * wait and go together in the next one, so many entities share one commit. One entity
 * never has two writes pending (its calls run one at a time), so its order is kept.
 */
import { FlotillaError } from '../core/errors.js';
import type { EntityWrite, Storage, WriteResult } from '../storage/storage.js';

interface Pending {
  readonly write: EntityWrite;
  readonly resolve: (result: WriteResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Counters of the batcher. */
export interface WriteBatcherStats {
  /** Transactions committed (or attempted). */
  batches: number;
  /** Writes sent. */
  writes: number;
  /** Largest batch so far. */
  largestBatch: number;
}

/** Batches entity writes into `writeEntities` transactions, one in flight at a time. */
export class WriteBatcher {
  readonly stats: WriteBatcherStats = { batches: 0, writes: 0, largestBatch: 0 };
  private readonly queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;

  /**
   * @param storage where writes go
   * @param writeBatchMax most writes per transaction
   * @param defer schedules the first flush of a quiet period (the host's batching point:
   *   `setImmediate` under the node driver), so writes that become ready in the same turn
   *   of the event loop share it
   */
  constructor(
    private readonly storage: Storage,
    private readonly writeBatchMax: number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  /** Queue one write; resolves with its result once the transaction holding it committed. */
  write(write: EntityWrite): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.schedule();
    });
  }

  /** Writes waiting for a transaction. */
  pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        await this.commit(this.queue.splice(0, this.writeBatchMax));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    this.stats.batches++;
    this.stats.writes += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let results: WriteResult[];
    try {
      results = await this.storage.writeEntities(batch.map((p) => p.write));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const result = results[i];
      if (result === undefined) p.reject(new FlotillaError('FLO_STORAGE', `storage answered ${results.length} results for ${batch.length} writes`));
      else p.resolve(result);
    });
  }
}
