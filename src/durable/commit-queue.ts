/**
 * Group commit for durable commits: commits that become ready while a storage transaction
 * is in flight wait and go together in the next one, so many workflow steps and timer
 * firings share one transaction (one fsync on SQLite, one round trip of BEGIN/COMMIT on
 * PostgreSQL). Each commit still applies or is refused on its own.
 */
import { FlotillaError } from '../core/errors.js';
import type { CommitResult, DurableCommit } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';

interface Pending {
  readonly commit: DurableCommit;
  readonly resolve: (result: CommitResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Batches commits into `commitDurable` transactions, one in flight at a time. */
export class CommitQueue {
  /** Transactions sent, commits sent, and the largest batch so far. */
  readonly stats = { batches: 0, commits: 0, largestBatch: 0 };
  private readonly queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(
    private readonly storage: Storage,
    private readonly batchMax: number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  /** Queue one commit; resolves with its result once the transaction holding it committed. */
  commit(commit: DurableCommit): Promise<CommitResult> {
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ commit, resolve, reject });
      if (this.flushing || this.scheduled) return;
      this.scheduled = true;
      this.defer(() => {
        this.scheduled = false;
        void this.flush();
      });
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.send(this.queue.splice(0, this.batchMax));
    } finally {
      this.flushing = false;
    }
  }

  private async send(batch: readonly Pending[]): Promise<void> {
    this.stats.batches++;
    this.stats.commits += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let results: CommitResult[];
    try {
      results = await this.storage.commitDurable(batch.map((p) => p.commit));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (r === undefined) p.reject(new FlotillaError('FLO_STORAGE', `storage answered ${results.length} results for ${batch.length} commits`));
      else p.resolve(r);
    });
  }
}
