/**
 * The durable-execution half of the storage contract: workflow records, their journals
 * and durable timers, and the commit that changes them together with entity records in
 * one transaction behind the partition's fence. Kept beside `storage.ts` so each file
 * holds one concept.
 */
import type { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';

/** Where a workflow execution stands. */
export type WorkflowStatus = 'running' | 'sleeping' | 'completed' | 'failed';

/** Every status, for validation. */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['running', 'sleeping', 'completed', 'failed'];

/** A workflow execution's record. */
export interface StoredWorkflow {
  /** The execution id (unique cluster-wide). */
  readonly id: string;
  readonly partition: number;
  /** The workflow definition's name. */
  readonly name: string;
  readonly status: WorkflowStatus;
  /** Opaque input bytes (the engine's encoding). */
  readonly input: Uint8Array;
  /** The result (completed) or error (failed), opaque; undefined otherwise. */
  readonly output: Uint8Array | undefined;
}

/** One journal entry: what step `seq` of an execution was and how it ended. */
export interface JournalEntry {
  /** 0, 1, 2, ... in the order the workflow asked for its steps. */
  readonly seq: number;
  /** The step's name (checked on replay: the determinism guard). */
  readonly name: string;
  /** Opaque outcome bytes (the engine's encoding of result or error). */
  readonly outcome: Uint8Array;
}

/** A workflow with its journal, ascending by seq. */
export interface LoadedWorkflow {
  readonly workflow: StoredWorkflow;
  readonly journal: readonly JournalEntry[];
}

/** A durable timer row. */
export interface DurableTimer {
  /** Unique cluster-wide; setting an existing id replaces that timer. */
  readonly id: string;
  readonly partition: number;
  /** When it is due, ms since the epoch (the hosts' clock). */
  readonly dueAt: number;
  /** Which handler fires it. */
  readonly kind: string;
  /** Opaque bytes for the handler. */
  readonly payload: Uint8Array;
}

/** An entity record change inside a durable commit (same rules as `EntityWrite`). */
export interface RecordWrite {
  readonly type: string;
  readonly id: string;
  /** The new state, or undefined to delete. */
  readonly state: Uint8Array | undefined;
  /** The version last read (0: no record); another version refuses the commit. */
  readonly expectedVersion: number;
}

/**
 * Changes to one partition's durable data, applied all together or not at all, behind
 * the partition's fence (`epoch` and `writer` as for `EntityWrite`).
 */
export interface DurableCommit {
  readonly partition: number;
  readonly epoch: number;
  readonly writer: NodeId;
  /** Entity record changes, in order. */
  readonly records?: readonly RecordWrite[];
  /** Create or replace a workflow record (its partition is the commit's). */
  readonly workflow?: Omit<StoredWorkflow, 'partition'>;
  /**
   * Journal changes of one execution: entries at and after `truncateFrom` are removed
   * first (a retried workflow forgets its failed step), then `append` is inserted. An
   * appended seq that already exists refuses the commit (FLO_VERSION_CONFLICT): a step
   * is never journaled twice.
   */
  readonly journal?: { readonly workflowId: string; readonly truncateFrom?: number; readonly append: readonly JournalEntry[] };
  /** Timers to create or replace (each in the commit's partition). */
  readonly timersSet?: readonly Omit<DurableTimer, 'partition'>[];
  /**
   * Timers to remove from the commit's partition. `mustExist`: a missing timer refuses
   * the commit with FLO_NOT_FOUND (a timer fires once: the firing commit removes it).
   */
  readonly timersDelete?: readonly { readonly id: string; readonly mustExist: boolean }[];
}

/** The outcome of one commit: the records' versions afterwards (in `records` order), or why it was refused. */
export type CommitResult = { readonly ok: true; readonly versions: readonly number[] } | { readonly ok: false; readonly error: FlotillaError };

/** Which finished executions a purge deletes, behind the partition's fence. */
export interface WorkflowPurge {
  readonly partition: number;
  readonly epoch: number;
  readonly writer: NodeId;
  /** Executions that finished (completed or failed) longer ago than this, ms, by the store's clock. */
  readonly finishedMs: number;
  /** Most executions deleted (the oldest first). */
  readonly limit: number;
  /**
   * Entity record types whose records with ids `<execution id>/...` belong to an execution
   * (its signals) and are deleted with it.
   */
  readonly recordTypes: readonly string[];
  /**
   * Entity record types whose record with the execution's own id belongs to the execution
   * (a child's link to its parent step) and is deleted with it. Default: none.
   */
  readonly idRecordTypes?: readonly string[];
}

/** What every store implements for durable execution (part of `Storage`). */
export interface DurableStore {
  /**
   * Apply commits in one transaction (durable before it resolves), each on its own: a
   * commit is refused as a whole, changing nothing, with FLO_STALE_EPOCH (behind or ahead
   * of the fence, or never claimed), FLO_VERSION_CONFLICT (a record's expected version, or
   * a journal seq already taken) or FLO_NOT_FOUND (a `mustExist` timer is gone); the others
   * apply in order. Results are in the order of `commits`.
   */
  commitDurable(commits: readonly DurableCommit[]): Promise<CommitResult[]>;
  /** A workflow and its journal, or undefined. */
  loadWorkflow(id: string): Promise<LoadedWorkflow | undefined>;
  /** Workflows of `partition` with `status`, ascending by id, at most `limit`. */
  listWorkflows(partition: number, status: WorkflowStatus, limit: number): Promise<StoredWorkflow[]>;
  /** The earliest timers of `partitions`, ascending by (dueAt, id), at most `limit`. */
  nextTimers(partitions: readonly number[], limit: number): Promise<DurableTimer[]>;
  /** A timer by id, or undefined. */
  loadTimer(id: string): Promise<DurableTimer | undefined>;
  /**
   * Delete finished executions of a partition with their journals and records, in one
   * transaction; answers the ids deleted. With something to delete, rejects with
   * FLO_STALE_EPOCH behind the fence; with nothing, answers [] without a transaction.
   */
  purgeWorkflows(purge: WorkflowPurge): Promise<string[]>;
  /**
   * Which of `partitions` hold executions that finished more than `finishedMs` ago (the
   * store's clock), ascending: one read, so a retention sweep of an idle node costs one
   * statement however many partitions it owns.
   */
  partitionsWithExpiredWorkflows(partitions: readonly number[], finishedMs: number): Promise<number[]>;
}
