/**
 * The few etcd operations etcd mode needs (leases, the runner registry, partition locks),
 * over the `etcd3` client, each bounded by a deadline and counted, so the session and the
 * lock loop read as protocol and the bench can report the load a runner puts on etcd.
 */
import { Etcd3 } from 'etcd3';
import { ExponentialBackoff, noop } from 'cockatiel';
import { FlotillaError } from '../../core/errors.js';
import type { EtcdConfig } from './etcd-config.js';

/** A registered runner, as found under `<prefix>runners/`. */
export interface RunnerRecord {
  readonly nodeId: string;
  readonly address: string;
  /** etcd's create revision of the key: registration order. */
  readonly createRevision: bigint;
}

/** A partition lock, as found under `<prefix>locks/`. */
export interface LockRecord {
  readonly owner: string;
  readonly lease: string;
}

/** Told what a watch on the partition locks sees. */
export interface LockWatchListener {
  /** The watch is (again) delivering events; anything before this moment may have been missed. */
  connected(): void;
  /** The watch broke (etcd unreachable, stream cancelled); it is re-established on its own. */
  disconnected(reason: string): void;
  /** Partition `partition`'s lock was deleted (released, or its lease ended) at `revision`. */
  released(partition: number, revision: bigint): void;
}

/** A running watch; `close` stops it for good. */
export interface LockWatch {
  close(): void;
}

/** Largest registry answer read at once (runners of one cluster). */
export const RUNNERS_LISTED_MAX = 1_024;

/** Longest pause between two attempts to re-establish a broken lock watch, ms (at least the retry interval). */
const WATCH_BACKOFF_MAX_MS = 2_000;

const RUNNERS = 'runners/';
const LOCKS = 'locks/';

/** Wraps any failure of an etcd call in FLO_ETCD_UNAVAILABLE (retryable). */
function unavailable(what: string, error: unknown): FlotillaError {
  const detail = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return new FlotillaError('FLO_ETCD_UNAVAILABLE', `etcd ${what}: ${detail}`);
}

/** One etcd connection (a gRPC channel per endpoint, made lazily by etcd3). */
export class EtcdStore {
  /** Requests sent to etcd since this store was made (every kind). */
  requests = 0;
  private readonly client: Etcd3;
  private readonly ns;

  constructor(
    endpoints: readonly string[],
    private readonly config: EtcdConfig,
  ) {
    // No retries or circuit breakers inside the client: the session and the lock loop
    // retry on their own schedule, and a broken circuit would outlast etcd's return.
    // The watch stream reconnects by itself; its backoff is capped so a watch is back soon
    // after etcd is, rather than after cockatiel's default of up to 30 s.
    const watchBackoff = new ExponentialBackoff({ initialDelay: Math.min(100, config.retryIntervalMs), maxDelay: Math.max(config.retryIntervalMs, WATCH_BACKOFF_MAX_MS) }).next();
    this.client = new Etcd3({ hosts: [...endpoints], dialTimeout: config.requestTimeoutMs, faultHandling: { host: () => noop, global: noop, watchBackoff } });
    this.ns = this.client.namespace(config.prefix);
  }

  private deadline(): { deadline: number } {
    return { deadline: Date.now() + this.config.requestTimeoutMs };
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.requests++;
    try {
      return await run();
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  /** A new lease of `ttlSec` seconds; resolves with its id. */
  grantLease(ttlSec: number): Promise<string> {
    return this.call('lease grant', async () => (await this.client.leaseClient.leaseGrant({ TTL: ttlSec }, this.deadline())).ID);
  }

  /** One keep-alive; resolves true while the lease lives, false once etcd says it expired. */
  keepAlive(leaseId: string): Promise<boolean> {
    return this.call('lease keep-alive', async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive(this.deadline());
      try {
        const reply = await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: leaseId });
        });
        return Number(reply.TTL) > 0;
      } finally {
        stream.end();
      }
    });
  }

  /** Revoke a lease (its keys go with it); a lease etcd no longer knows counts as revoked. */
  async revokeLease(leaseId: string): Promise<void> {
    await this.call('lease revoke', async () => {
      try {
        await this.client.leaseClient.leaseRevoke({ ID: leaseId }, this.deadline());
      } catch (error) {
        if (!(error instanceof Error) || !/not found|EtcdLeaseInvalid/i.test(`${error.name} ${error.message}`)) throw error;
      }
    });
  }

  /** Write this runner's registration, bound to `leaseId`. */
  async putRunner(leaseId: string, nodeId: string, address: string): Promise<void> {
    await this.call('register', () => this.ns.put(`${RUNNERS}${nodeId}`).value(JSON.stringify({ nodeId, address })).lease(leaseId).options(this.deadline()).exec());
  }

  /** Every registered runner, in registration order. */
  listRunners(): Promise<RunnerRecord[]> {
    return this.call('list runners', async () => {
      const res = await this.ns.getAll().prefix(RUNNERS).limit(RUNNERS_LISTED_MAX).options(this.deadline()).exec();
      const out: RunnerRecord[] = [];
      for (const kv of res.kvs) {
        const record = parseRunner(kv.value.toString('utf8'));
        if (record !== undefined) out.push({ ...record, createRevision: BigInt(kv.create_revision) });
      }
      return out.sort((a, b) => (a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0));
    });
  }

  /** Every partition lock now held, by partition. */
  listLocks(): Promise<Map<number, LockRecord>> {
    return this.call('list locks', async () => {
      const res = await this.ns.getAll().prefix(LOCKS).options(this.deadline()).exec();
      const out = new Map<number, LockRecord>();
      for (const kv of res.kvs) {
        // The namespace hands keys back without its prefix.
        const partition = lockPartition(kv.key.toString('utf8'));
        if (partition !== undefined) out.set(partition, { owner: kv.value.toString('utf8'), lease: kv.lease });
      }
      return out;
    });
  }

  /**
   * Watch lock deletions under `<prefix>locks/`. etcd3 resumes a broken watch from the last
   * revision it saw; a watch etcd cancels (its revision compacted away) is made anew here.
   */
  watchLocks(listener: LockWatchListener): LockWatch {
    let closed = false;
    let watcher: ReturnType<ReturnType<typeof this.ns.watch>['watcher']> | undefined;
    let restart: NodeJS.Timeout | undefined;
    const open = (): void => {
      this.requests++;
      const w = this.ns.watch().prefix(LOCKS).only('delete').watcher();
      watcher = w;
      w.on('connected', () => listener.connected());
      w.on('disconnected', (error: Error) => listener.disconnected(error.message.split('\n')[0]!));
      w.on('delete', (kv) => {
        const partition = lockPartition(kv.key.toString('utf8'));
        if (partition !== undefined) listener.released(partition, BigInt(kv.mod_revision));
      });
      w.on('error', (error: Error) => {
        if (closed || watcher !== w) return;
        listener.disconnected(error.message.split('\n')[0]!);
        void w.cancel().catch(() => undefined);
        restart = setTimeout(() => {
          if (!closed) open();
        }, this.config.retryIntervalMs);
        restart.unref();
      });
    };
    open();
    return {
      close: () => {
        closed = true;
        clearTimeout(restart);
        void watcher?.cancel().catch(() => undefined);
      },
    };
  }

  /**
   * Take partition `partition`'s lock for `nodeId` on `leaseId`, in one transaction that
   * checks the key is absent, or (when `ours`) still names `nodeId`. Resolves the revision
   * it was taken at, or undefined when it was not.
   */
  claimLock(partition: number, nodeId: string, leaseId: string, ours: boolean): Promise<bigint | undefined> {
    return this.call('lock', async () => {
      const key = `${LOCKS}${partition}`;
      const txn = ours ? this.ns.if(key, 'Value', '==', nodeId) : this.ns.if(key, 'Create', '==', 0);
      const res = await txn.then(this.ns.put(key).value(nodeId).lease(leaseId)).options(this.deadline()).commit();
      return res.succeeded ? BigInt(res.header.revision) : undefined;
    });
  }

  /** Drop partition `partition`'s lock if it still names `nodeId`. */
  async releaseLock(partition: number, nodeId: string): Promise<void> {
    const key = `${LOCKS}${partition}`;
    await this.call('unlock', () => this.ns.if(key, 'Value', '==', nodeId).then(this.ns.delete().key(key)).options(this.deadline()).commit());
  }

  close(): void {
    this.client.close();
  }
}

/** The partition of a lock key (without the namespace's prefix), if it is one. */
function lockPartition(name: string): number | undefined {
  const digits = name.startsWith(LOCKS) ? name.slice(LOCKS.length) : '';
  return /^\d{1,6}$/.test(digits) ? Number(digits) : undefined;
}

function parseRunner(text: string): { nodeId: string; address: string } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { nodeId, address } = value as Record<string, unknown>;
    return typeof nodeId === 'string' && typeof address === 'string' ? { nodeId, address } : undefined;
  } catch {
    return undefined;
  }
}
