/**
 * Group commit: items that become ready while a storage transaction is in flight wait and
 * go together in the next one, so many callers share one commit (one fsync on SQLite, one
 * BEGIN/COMMIT round trip on PostgreSQL). Each item still gets its own result, in order.
 */
import { FlotillaError } from './errors.js';

interface Pending<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Counters of a group commit. */
export interface GroupCommitStats {
  /** Transactions sent (committed or failed). */
  batches: number;
  /** Items sent. */
  items: number;
  /** Largest batch so far. */
  largestBatch: number;
}

/** Batches items into `send` calls, one in flight at a time, at most `batchMax` per call. */
export class GroupCommit<I, R> {
  readonly stats: GroupCommitStats = { batches: 0, items: 0, largestBatch: 0 };
  private readonly queue: Pending<I, R>[] = [];
  private flushing = false;
  private scheduled = false;

  /**
   * @param send commits a batch; answers one result per item, in order (a rejection fails
   *   the whole batch)
   * @param batchMax most items per call
   * @param defer schedules the first flush of a quiet period (the host's batching point),
   *   so items that become ready in the same turn of the event loop share it
   */
  constructor(
    private readonly send: (items: I[]) => Promise<readonly R[]>,
    private readonly batchMax: number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  /** Queue one item; resolves with its result once the transaction holding it committed. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.flushing || this.scheduled) return;
      this.scheduled = true;
      this.defer(() => {
        this.scheduled = false;
        void this.flush();
      });
    });
  }

  /** Items waiting for a transaction. */
  pending(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.sendBatch(this.queue.splice(0, this.batchMax));
    } finally {
      this.flushing = false;
    }
  }

  private async sendBatch(batch: readonly Pending<I, R>[]): Promise<void> {
    this.stats.batches++;
    this.stats.items += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let results: readonly R[];
    try {
      results = await this.send(batch.map((p) => p.item));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      if (i < results.length) p.resolve(results[i]!);
      else p.reject(new FlotillaError('FLO_STORAGE', `storage answered ${results.length} results for ${batch.length} items`));
    });
  }
}
