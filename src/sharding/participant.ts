/**
 * The contract between the migration executor and the services that keep partition data
 * (the KV store now, the grid and entities later): how a partition's state is exported
 * in bounded chunks, how changes made while copying are captured as deltas, how the
 * destination applies both, and what each side does when a migration commits or is
 * called off. The executor moves the bytes; a participant only knows its own encoding.
 */

/**
 * Largest chunk or delta batch a participant should produce, in bytes. The executor
 * refuses anything larger than `PAYLOAD_BYTES_MAX` (the wire bound); staying well below
 * keeps frames small, interleaves migrations with serving traffic, and bounds the memory
 * one in-flight chunk costs on both sides.
 */
export const MIGRATION_CHUNK_BYTES_MAX = 256 * 1024;

/** What this node is for one partition after a table change or a migration's commit. */
export type ParticipantRole = 'owner' | 'backup' | 'none';

/** Which end of a migration this node is. */
export type ParticipantSide = 'source' | 'destination';

/**
 * A service holding per-partition data that must move with its partition. All methods
 * are called on the node's event loop; none may block it for long (chunk work is bounded
 * by `MIGRATION_CHUNK_BYTES_MAX`).
 */
export interface MigrationParticipant {
  /** Unique name, carried as `MigrateData.service` (at most `SERVICE_NAME_BYTES_MAX` bytes). */
  readonly name: string;

  /**
   * True when the partition's state lives in this node's memory and moves by copying (the
   * KV store): a source keeps such a copy for a while after a committed move (see
   * `MigrationConfig.movedCopyRetainMs`), and `finalize(partition, 'none')` comes once it
   * lets go. Absent or false when the state lives in shared storage behind the fence: the
   * participant hears `'none'` at once.
   */
  readonly copiesData?: boolean;

  /**
   * Source: the partition's state as chunks of at most `MIGRATION_CHUNK_BYTES_MAX` bytes.
   * Called after `beginCapture`, so any change made while iterating is also captured
   * and reaches the destination as a delta; a change may therefore arrive twice, and
   * applying must be idempotent. May yield nothing for an empty partition.
   */
  exportChunks(partition: number): AsyncIterable<Uint8Array>;

  /**
   * Source: start recording every change to `partition` (from clients, or replicated to
   * this node) for `takeDeltas`. Calls nest: each `beginCapture` is matched by one
   * `endCapture` (several migrations may stream one partition at once).
   */
  beginCapture(partition: number): void;

  /**
   * Source: the changes recorded since the last call, encoded as batches of at most
   * `MIGRATION_CHUNK_BYTES_MAX` bytes, oldest first; empty when there are none. The
   * executor fans them out to every migration streaming the partition.
   */
  takeDeltas(partition: number): Uint8Array[];

  /** Source: one `beginCapture` is over; when none is left, stop recording and drop what is pending. */
  endCapture(partition: number): void;

  /**
   * Destination: apply one snapshot chunk. Chunks of one migration arrive in order; an
   * entry may already be present (a delta raced it, or the chunk repeats), and the newer
   * version wins. Throws a FlotillaError (FLO_INVALID_ARGUMENT) on bytes it cannot read;
   * the migration then fails and is retried.
   */
  applyChunk(partition: number, bytes: Uint8Array): void;

  /** Destination: apply one delta batch, after every chunk; same rules as `applyChunk`. */
  applyDelta(partition: number, bytes: Uint8Array): void;

  /**
   * A migration committed, or the table changed this node's role. `role` is what this
   * node now is for `partition`: `'none'` drops the data (a source that moved its only
   * replica away, a backup slot taken away), `'backup'` demotes, `'owner'` promotes.
   */
  finalize(partition: number, role: ParticipantRole): void;

  /**
   * A migration was called off. The destination discards what it received for the
   * partition (unless it holds a replica by the table: the executor then does not call
   * this); the source keeps everything (its capture ends through `endCapture`).
   */
  cancel(partition: number, side: ParticipantSide): void;

  /**
   * Reconcile `bytes` (chunks exported by another replica of `partition`, e.g. from the
   * other side of a healed network split) into the local state through this
   * participant's merge policy.
   */
  merge(partition: number, bytes: Uint8Array): void;
}
