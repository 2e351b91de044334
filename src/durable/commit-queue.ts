/**
 * Group commit for durable commits: workflow steps and timer firings that become ready
 * while a transaction is in flight share the next `commitDurable` transaction; each
 * commit still applies or is refused on its own.
 */
import { GroupCommit } from '../core/group-commit.js';
import type { CommitResult, DurableCommit } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';

/** Batches commits into `commitDurable` transactions, one in flight at a time. */
export class CommitQueue extends GroupCommit<DurableCommit, CommitResult> {
  constructor(storage: Storage, batchMax: number, defer: (fn: () => void) => void) {
    super((commits) => storage.commitDurable(commits), batchMax, defer);
  }

  /** Queue one commit; resolves with its result once the transaction holding it committed. */
  commit(commit: DurableCommit): Promise<CommitResult> {
    return this.submit(commit);
  }
}
