/**
 * Partition ownership locks in etcd: one key per partition this runner owns, bound to its
 * lease and written in a transaction that checks the key is absent or already names this
 * runner. The runner serves writes of a partition only while it holds that lock, so two
 * runners never both write one partition, even when their tables disagree.
 *
 * A lock held by someone else is waited for on a watch of the lock keys: its deletion
 * (released, or its lease ended) starts the next attempt at once. Only while that watch is
 * broken does the loop poll, slowly; a failed request is retried after the retry interval.
 */
import type { NodeLogger } from '../service.js';
import type { EtcdConfig } from './etcd-config.js';
import type { EtcdStore, LockWatch } from './etcd-store.js';

/** Counters of the lock loop. */
export interface LockStats {
  readonly wanted: number;
  readonly held: number;
  /** Wanted locks another runner held at the last attempt (waited for on the watch). */
  readonly waiting: number;
  readonly claimsRefused: number;
  /** Whether the watch on the lock keys is delivering events. */
  readonly watching: boolean;
  /** Times the watch broke. */
  readonly watchBreaks: number;
}

/** The poll interval while the watch is broken, in retry intervals. */
export const WATCH_BROKEN_POLL_FACTOR = 10;

/** The locks one runner wants (from its partition table) and the ones it holds. */
export class PartitionLocks {
  private wanted = new Set<number>();
  /** Held locks, with the etcd revision each was taken at. */
  private readonly held = new Map<number, bigint>();
  private waiting = 0;
  private watch: LockWatch | undefined;
  private watching = false;
  private watchBreaks = 0;
  private lease: string | undefined;
  /** Raised on every lease change: results of an older lease's requests are dropped. */
  private generation = 0;
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
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
    // Most table versions leave this runner's partitions as they were (several a second in
    // a settled cluster): nothing to settle then, and no request to etcd.
    if (partitions.size === this.wanted.size && [...partitions].every((p) => this.wanted.has(p))) return;
    this.wanted = new Set(partitions);
    for (const p of [...this.held.keys()]) if (!this.wanted.has(p)) this.held.delete(p);
    this.kick();
  }

  /** A new lease: every lock is taken again on it. */
  attached(lease: string): void {
    this.generation++;
    this.lease = lease;
    this.held.clear();
    this.watch ??= this.store.watchLocks({
      connected: () => {
        this.watching = true;
        // Deletions before the watch connected were not seen: look again.
        this.kick();
      },
      disconnected: (reason) => {
        if (this.watching) this.watchBreaks++;
        this.watching = false;
        this.log.debug({ reason }, 'etcd: lock watch broken; polling until it is back');
        if (this.waiting > 0) this.scheduleRetry(this.config.retryIntervalMs * WATCH_BROKEN_POLL_FACTOR);
      },
      released: (partition, revision) => this.released(partition, revision),
    });
    this.kick();
  }

  /** The lease is gone, and every lock with it. */
  detached(): void {
    this.generation++;
    this.lease = undefined;
    this.held.clear();
  }

  stats(): LockStats {
    return { wanted: this.wanted.size, held: this.held.size, waiting: this.waiting, claimsRefused: this.claimsRefused, watching: this.watching, watchBreaks: this.watchBreaks };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
  }

  /** A lock key was deleted: a wanted lock may be free now, or a held one is gone. */
  private released(partition: number, revision: bigint): void {
    if (!this.wanted.has(partition)) return;
    const takenAt = this.held.get(partition);
    // A deletion from before our claim (its event can arrive after the claim's answer) changes nothing.
    if (takenAt !== undefined && revision <= takenAt) return;
    // Ours is gone (its lease was revoked, or someone deleted it): stop serving on it, take it again.
    this.held.delete(partition);
    this.kick();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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
    let failed = false;
    let waiting = 0;
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
        else waiting++;
      }
      await this.bounded(releases, (p) => this.store.releaseLock(p, this.nodeId));
      await this.bounded(claims, async ({ partition, ours }) => {
        const takenAt = await this.store.claimLock(partition, this.nodeId, lease, ours);
        if (generation !== this.generation) return;
        if (takenAt !== undefined && this.wanted.has(partition)) this.held.set(partition, takenAt);
        else if (takenAt === undefined) {
          // Taken by someone else since the listing: wait for its deletion like the others.
          this.claimsRefused++;
          waiting++;
        }
      });
    } catch (error) {
      this.log.debug({ err: String(error) }, 'etcd: partition locks not settled yet');
      failed = true;
    }
    if (generation !== this.generation || this.closed) return;
    // A failed attempt counted nothing: keep what the last one saw.
    if (!failed) this.waiting = waiting;
    const missing = [...this.wanted].some((p) => !this.held.has(p));
    if (failed || (missing && waiting === 0)) this.scheduleRetry(this.config.retryIntervalMs);
    // Locks held by others come free through the watch; poll for them only while it is broken.
    else if (waiting > 0 && !this.watching) this.scheduleRetry(this.config.retryIntervalMs * WATCH_BROKEN_POLL_FACTOR);
  }

  /** Attempt again in `delayMs`, unless an attempt is already due sooner. */
  private scheduleRetry(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.retryTimer !== undefined && this.retryAt <= at) return;
    clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delayMs);
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
