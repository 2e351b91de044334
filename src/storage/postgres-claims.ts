/**
 * Partition claims on PostgreSQL, gathered per turn of the event loop into one statement:
 * a node that gains a third of the partitions at a failover claims them all at once, and
 * a statement (a round trip and a commit) each queued them behind one another on the pool
 * while the workflows and timers of those partitions waited to resume.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { claimError } from './fence-rules.js';
import type { PartitionFence, PendingClaim } from './storage.js';

/** A fence row as the driver returns it (epoch is a bigint). */
export interface FenceRow {
  partition: number;
  epoch: string;
  owner: string;
}

export function toFence(row: FenceRow): PartitionFence {
  return { partition: row.partition, epoch: Number(row.epoch), owner: row.owner };
}

// The rows go in partition order, the order batches lock fences in, so the two cannot deadlock.
const CLAIM_MANY_SQL = `
INSERT INTO flotilla_partition_fences AS f (partition, epoch, owner, claimed_at)
SELECT c.partition, c.epoch, c.owner, now() FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS c(partition, epoch, owner)
ORDER BY c.partition
ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner, claimed_at = excluded.claimed_at
  WHERE f.epoch < excluded.epoch OR (f.epoch = excluded.epoch AND f.owner = excluded.owner)
RETURNING partition, epoch, owner`;

const FENCES_SQL = 'SELECT partition, epoch, owner FROM flotilla_partition_fences WHERE partition = ANY($1::integer[])';

type Query = <R extends FenceRow>(sql: string, values: unknown[]) => Promise<R[]>;


/** Claims of one store, one statement per turn. */
export class PostgresClaims {
  private pending: PendingClaim[] = [];

  constructor(private readonly query: Query) {}

  /** Resolves with the fence, or rejects with FLO_STALE_EPOCH (or the store's error). */
  claim(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence> {
    return new Promise((resolve, reject) => {
      this.pending.push({ partition, epoch, owner, resolve, reject });
      if (this.pending.length === 1) queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const all = this.pending;
    this.pending = [];
    // One statement cannot touch a row twice: a second claim of a partition goes in the next.
    const first = new Map<number, PendingClaim>();
    const again: PendingClaim[] = [];
    for (const c of all) {
      if (first.has(c.partition)) again.push(c);
      else first.set(c.partition, c);
    }
    const batch = [...first.values()];
    try {
      const claimed = new Map((await this.query(CLAIM_MANY_SQL, [batch.map((c) => c.partition), batch.map((c) => c.epoch), batch.map((c) => c.owner)])).map((r) => [r.partition, toFence(r)]));
      const refused = batch.filter((c) => !claimed.has(c.partition));
      const fences = new Map(refused.length === 0 ? [] : (await this.query(FENCES_SQL, [refused.map((c) => c.partition)])).map((r) => [r.partition, toFence(r)]));
      for (const c of batch) {
        const fence = claimed.get(c.partition);
        if (fence !== undefined) {
          c.resolve(fence);
          continue;
        }
        const error = claimError(fences.get(c.partition), c.partition, c.epoch, c.owner);
        c.reject(error ?? new FlotillaError('FLO_STORAGE', `claim of partition ${c.partition} at epoch ${c.epoch} refused by a fence that allows it`));
      }
    } catch (error) {
      for (const c of batch) c.reject(error);
    }
    for (const c of again) this.claim(c.partition, c.epoch, c.owner).then(c.resolve, c.reject);
  }
}
