/**
 * Partition ownership locks in etcd: one key per partition this runner owns, bound to its
 * lease and written in a transaction that checks the key is absent or already names this
 * runner. The runner serves writes of a partition only while it holds that lock, so two
 * runners never both write one partition, even when their tables disagree.
 */
import type { NodeLogger } from '../service.js';
import type { EtcdConfig } from './etcd-config.js';
import type { EtcdStore } from './etcd-store.js';

/** Counters of the lock loop. */
export interface LockStats {
  readonly wanted: number;
  readonly held: number;
  readonly claimsRefused: number;
}

/** The locks one runner wants (from its partition table) and the ones it holds. */
export class PartitionLocks {
  private wanted = new Set<number>();
  private readonly held = new Set<number>();
  private lease: string | undefined;
  /** Raised on every lease change: results of an older lease's requests are dropped. */
  private generation = 0;
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private claimsRefused = 0;

  constructor(
    private readonly store: EtcdStore,
    private readonly config: EtcdConfig,
    private readonly nodeId: string,
    private readonly log: NodeLogger,
  ) {}

  /** Whether this runner holds `partition`'s lock on its current lease. */
  holds(partition: number): boolean {
    return this.lease !== undefined && this.held.has(partition);
  }

  /** The partitions the table gives this runner now; locks follow. */
  want(partitions: ReadonlySet<number>): void {
    this.wanted = new Set(partitions);
    for (const p of [...this.held]) if (!this.wanted.has(p)) this.held.delete(p);
    this.kick();
  }

  /** A new lease: every lock is taken again on it. */
  attached(lease: string): void {
    this.generation++;
    this.lease = lease;
    this.held.clear();
    this.kick();
  }

  /** The lease is gone, and every lock with it. */
  detached(): void {
    this.generation++;
    this.lease = undefined;
    this.held.clear();
  }

  stats(): LockStats {
    return { wanted: this.wanted.size, held: this.held.size, claimsRefused: this.claimsRefused };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.running = true;
    void this.reconcile().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Release what is no longer wanted, claim what is wanted and free (or ours); retry the rest later. */
  private async reconcile(): Promise<void> {
    const lease = this.lease;
    const generation = this.generation;
    if (lease === undefined) return;
    let pending = false;
    try {
      const locks = await this.store.listLocks();
      const releases: number[] = [];
      const claims: { partition: number; ours: boolean }[] = [];
      for (const [partition, lock] of locks) {
        if (lock.owner === this.nodeId && !this.wanted.has(partition)) releases.push(partition);
      }
      for (const partition of this.wanted) {
        if (this.held.has(partition)) continue;
        const lock = locks.get(partition);
        if (lock === undefined) claims.push({ partition, ours: false });
        else if (lock.owner === this.nodeId) claims.push({ partition, ours: true });
        else pending = true;
      }
      await this.bounded(releases, (p) => this.store.releaseLock(p, this.nodeId));
      await this.bounded(claims, async ({ partition, ours }) => {
        const taken = await this.store.claimLock(partition, this.nodeId, lease, ours);
        if (generation !== this.generation) return;
        if (taken && this.wanted.has(partition)) this.held.add(partition);
        else if (!taken) {
          this.claimsRefused++;
          pending = true;
        }
      });
    } catch (error) {
      this.log.debug({ err: String(error) }, 'etcd: partition locks not settled yet');
      pending = true;
    }
    const missing = [...this.wanted].some((p) => !this.held.has(p));
    if ((pending || missing) && generation === this.generation && !this.closed) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.kick(), this.config.retryIntervalMs);
    this.retryTimer.unref();
  }

  /** Run `work` over `items`, at most `lockConcurrencyMax` at once; the first failure rejects after all settle. */
  private async bounded<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: unknown;
    const lane = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await work(item);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.lockConcurrencyMax, items.length) }, lane));
    if (failure !== undefined) throw failure;
  }
}
