/**
 * The storage contract: what the entity runtime, workflows and durable timers need from a
 * durable store (the durable-execution part is declared in `durable.ts`), implemented by SQLite (the embedded default), PostgreSQL, and an
 * in-memory store for tests and benchmarks. One shared suite runs against every
 * implementation, so they cannot drift apart.
 *
 * Fencing is part of the contract, not an afterthought: every partition has a fence
 * (the newest epoch some node claimed it at, and which node). A node claims a partition
 * before it serves it; every entity write carries the writer's epoch and node, and a
 * write behind the fence is refused. A deposed owner (a paused process, the minority
 * side of a split) therefore fails on its next write, even if the new owner has written
 * nothing yet.
 */
import type { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { DurableStore } from './durable.js';

/** Which implementation. */
export type StorageKind = 'memory' | 'sqlite' | 'postgres';

/** The newest claim on a partition. */
export interface PartitionFence {
  readonly partition: number;
  /** The claimed epoch; only goes up. */
  readonly epoch: number;
  /** The node that claimed it. */
  readonly owner: NodeId;
}

/** A claim a store holds back to commit with the others asked for in the same turn. */
export interface PendingClaim {
  readonly partition: number;
  readonly epoch: number;
  readonly owner: NodeId;
  resolve(fence: PartitionFence): void;
  reject(error: unknown): void;
}

/** An entity's stored record. */
export interface StoredEntity {
  readonly type: string;
  readonly id: string;
  readonly partition: number;
  /** Opaque to storage (the entity runtime's encoding). */
  readonly state: Uint8Array;
  /** 1 on the first write, +1 on every write after. */
  readonly version: number;
}

/** One change of one entity's stored state. */
export interface EntityWrite {
  readonly partition: number;
  /** The writer's epoch for `partition`: refused with FLO_STALE_EPOCH when behind the fence. */
  readonly epoch: number;
  /** The writing node: at the fence's own epoch, only the fence's owner may write. */
  readonly writer: NodeId;
  readonly type: string;
  readonly id: string;
  /** The new state, or undefined to delete the record. */
  readonly state: Uint8Array | undefined;
  /**
   * The version the writer last read or wrote (0: no record). A record at another version
   * refuses the write with FLO_VERSION_CONFLICT (two activations of one entity are a bug
   * this makes loud instead of silent).
   */
  readonly expectedVersion: number;
}

/** The outcome of one write of a batch. */
export type WriteResult =
  | { readonly ok: true; /** The record's version now (0 after a delete). */ readonly version: number }
  | { readonly ok: false; readonly error: FlotillaError };

/** Stored entities per type and partition (introspection). */
export interface EntityCount {
  readonly type: string;
  readonly partition: number;
  readonly count: number;
}

/**
 * A durable store. Every method may reject with FLO_STORAGE (the store is unreachable
 * or failed; retryable) besides the errors it names. Methods are safe to call
 * concurrently; implementations serialize what must be serialized.
 */
export interface Storage extends DurableStore {
  readonly kind: StorageKind;
  /** Where the data lives, for logs: a file path, or host/database (never a password). */
  readonly description: string;

  /**
   * Record that `owner` serves `partition` from `epoch` on. Succeeds when `epoch` is
   * newer than the fence, or equal to it with the same owner (a repeated claim);
   * otherwise rejects with FLO_STALE_EPOCH (details: the fence). Resolves with the fence
   * as stored afterwards. Atomic against concurrent claims and writes, across processes.
   */
  claimPartition(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence>;

  /** The fence of every partition that was ever claimed, by partition. */
  fences(): Promise<PartitionFence[]>;

  /** The highest epoch ever claimed for any partition (0 when none). */
  maxEpoch(): Promise<number>;

  /** The stored record of an entity, or undefined. */
  loadEntity(type: string, id: string): Promise<StoredEntity | undefined>;

  /**
   * Apply writes in one transaction per call (one commit, durable before it resolves),
   * each write checked on its own: a write is refused with FLO_STALE_EPOCH when its
   * `epoch` is below its partition's fence, or equal to it from another node, or when the
   * partition was never claimed; with FLO_VERSION_CONFLICT when `expectedVersion` does not
   * match. Refused writes change nothing; the others are applied. Results are in the
   * order of `writes`. Two writes of one entity in one batch apply in order.
   */
  writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]>;

  /** Stored entities per type and partition. */
  countEntities(): Promise<EntityCount[]>;

  /** Ids of stored entities of `type` in `partition`, ascending, at most `limit`. */
  listEntities(type: string, partition: number, limit: number): Promise<string[]>;

  /** Close connections and file handles; later calls reject with FLO_STORAGE. Idempotent. */
  close(): Promise<void>;
}

/** How to open a store. */
export type StorageOptions =
  | { readonly kind: 'memory' }
  | {
      readonly kind: 'sqlite';
      /** The database file; created (with its directory) when missing. */
      readonly path: string;
      /** How long a writer waits for another process's lock, ms. Default 5,000. */
      readonly busyTimeoutMs?: number;
      /**
       * SQLite's `synchronous` pragma. `'full'` (default): the WAL is fsynced at every
       * commit, so a write that resolved survives a power loss. `'normal'`: fsync only at
       * checkpoints; a committed write survives a process crash (kill -9) but a power loss
       * or OS crash can lose the last commits. Faster per commit; trade durability for it
       * knowingly.
       */
      readonly synchronous?: 'full' | 'normal';
    }
  | {
      readonly kind: 'postgres';
      /** `postgres://user:password@host:port/database`. */
      readonly url: string;
      /** Pool size. Default 10. */
      readonly poolSize?: number;
      /** Schema to keep Flotilla's tables in. Default `public`. */
      readonly schema?: string;
      /** How long to wait for a connection before rejecting with FLO_STORAGE, ms. Default 5,000. */
      readonly connectTimeoutMs?: number;
    };
