/**
 * The SQLite store's durable-execution tables. A `commitDurable` call is one
 * `BEGIN IMMEDIATE` transaction; each commit inside it runs in a savepoint (better-sqlite3
 * nests transactions that way), so a refused commit rolls back alone and the others of the
 * call still apply.
 */
import type Database from 'better-sqlite3';
import { FlotillaError } from '../core/errors.js';
import { fenceError, type FenceState } from './fence-rules.js';
import type { CommitResult, DurableCommit, DurableTimer, JournalEntry, LoadedWorkflow, StoredWorkflow, WorkflowPurge, WorkflowStatus } from './durable.js';
import { toTimer, toWorkflow, type TimerRow, type WorkflowRow } from './durable-rows.js';
import { journalConflictError, ownedRecordRange, timerGoneError } from './durable-validation.js';
import type { EntityWrite, WriteResult } from './storage.js';

function prepare(db: Database.Database) {
  return {
    fence: db.prepare<[number], FenceState>('SELECT epoch, owner FROM flotilla_partition_fences WHERE partition = ?'),
    upsertWorkflow: db.prepare<[string, number, string, string, Buffer, Buffer | null, number]>(
      `INSERT INTO flotilla_workflows (id, partition, name, status, input, output, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET partition = excluded.partition, name = excluded.name, status = excluded.status,
         input = excluded.input, output = excluded.output, updated_at = excluded.updated_at`,
    ),
    truncate: db.prepare<[string, number]>('DELETE FROM flotilla_journal WHERE workflow_id = ? AND seq >= ?'),
    append: db.prepare<[string, number, string, Buffer]>('INSERT INTO flotilla_journal (workflow_id, seq, name, outcome) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    deleteTimer: db.prepare<[string, number]>('DELETE FROM flotilla_timers WHERE id = ? AND partition = ?'),
    upsertTimer: db.prepare<[string, number, number, string, Buffer]>(
      `INSERT INTO flotilla_timers (id, partition, due_at, kind, payload) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, payload = excluded.payload
       WHERE flotilla_timers.partition = excluded.partition`,
    ),
    workflow: db.prepare<[string], WorkflowRow>('SELECT id, partition, name, status, input, output FROM flotilla_workflows WHERE id = ?'),
    journal: db.prepare<[string], { seq: number; name: string; outcome: Buffer }>('SELECT seq, name, outcome FROM flotilla_journal WHERE workflow_id = ? ORDER BY seq'),
    list: db.prepare<[number, string, number], WorkflowRow>(
      'SELECT id, partition, name, status, input, output FROM flotilla_workflows WHERE partition = ? AND status = ? ORDER BY id LIMIT ?',
    ),
    // Walks the due-time index and skips other partitions' rows: reads about `limit` rows
    // when this node owns most timers, more when it owns few of them.
    nextTimers: db.prepare<[string, number], TimerRow>(
      'SELECT id, partition, due_at, kind, payload FROM flotilla_timers INDEXED BY flotilla_timers_due WHERE partition IN (SELECT value FROM json_each(?)) ORDER BY due_at, id LIMIT ?',
    ),
    timer: db.prepare<[string], TimerRow>('SELECT id, partition, due_at, kind, payload FROM flotilla_timers WHERE id = ?'),
    expired: db.prepare<[number, number, number], { id: string }>(
      `SELECT id FROM flotilla_workflows INDEXED BY flotilla_workflows_finished
       WHERE partition = ? AND status IN ('completed', 'failed') AND updated_at < ? ORDER BY updated_at LIMIT ?`,
    ),
    anyExpired: db.prepare<[string, number], { partition: number }>(
      `SELECT p.value AS partition FROM json_each(?) AS p WHERE EXISTS (
         SELECT 1 FROM flotilla_workflows INDEXED BY flotilla_workflows_finished
         WHERE partition = p.value AND status IN ('completed', 'failed') AND updated_at < ?) ORDER BY p.value`,
    ),
    deleteWorkflow: db.prepare<[string]>('DELETE FROM flotilla_workflows WHERE id = ?'),
    deleteJournal: db.prepare<[string]>('DELETE FROM flotilla_journal WHERE workflow_id = ?'),
    deleteOwned: db.prepare<[string, string, string]>('DELETE FROM flotilla_entities WHERE type = ? AND id >= ? AND id < ?'),
    deleteRecord: db.prepare<[string, string]>('DELETE FROM flotilla_entities WHERE type = ? AND id = ?'),
  };
}

/** Why a commit was refused, thrown out of its savepoint so it rolls back. */
class Refused extends Error {
  constructor(readonly error: FlotillaError) {
    super(error.message);
  }
}

function buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The durable tables of one SQLite connection. */
export class SqliteDurableTables {
  private readonly statements: ReturnType<typeof prepare>;
  private readonly batch: (commits: readonly DurableCommit[]) => CommitResult[];
  private readonly one: (c: DurableCommit, now: number) => number[];
  private readonly purgeTx: (purge: WorkflowPurge) => string[];

  /** @param applyWrite the store's entity write (inside the caller's transaction) */
  constructor(
    db: Database.Database,
    private readonly applyWrite: (w: EntityWrite, now: number) => WriteResult,
  ) {
    this.statements = prepare(db);
    this.one = db.transaction((c: DurableCommit, now: number) => this.applyCommit(c, now));
    const outer = db.transaction((commits: readonly DurableCommit[]) => {
      const now = Date.now();
      return commits.map((c): CommitResult => {
        try {
          return { ok: true, versions: this.one(c, now) };
        } catch (error) {
          if (error instanceof Refused) return { ok: false, error: error.error };
          throw error;
        }
      });
    });
    this.batch = (commits) => outer.immediate(commits);
    const purge = db.transaction((p: WorkflowPurge) => this.purgeInTransaction(p));
    this.purgeTx = (p) => purge.immediate(p);
  }

  purge(purge: WorkflowPurge): string[] {
    // Most sweeps find nothing: a read outside a write transaction answers that without
    // taking the file's write lock.
    if (this.statements.expired.all(purge.partition, Date.now() - purge.finishedMs, 1).length === 0) return [];
    return this.purgeTx(purge);
  }

  expiredPartitions(partitions: readonly number[], finishedMs: number): number[] {
    if (partitions.length === 0) return [];
    return this.statements.anyExpired.all(JSON.stringify([...new Set(partitions)]), Date.now() - finishedMs).map((r) => r.partition);
  }

  private purgeInTransaction(p: WorkflowPurge): string[] {
    const s = this.statements;
    const fence = fenceError(s.fence.get(p.partition), p);
    if (fence !== undefined) throw fence;
    const ids = s.expired.all(p.partition, Date.now() - p.finishedMs, p.limit).map((r) => r.id);
    for (const id of ids) {
      s.deleteWorkflow.run(id);
      s.deleteJournal.run(id);
      const { from, to } = ownedRecordRange(id);
      for (const type of p.recordTypes) s.deleteOwned.run(type, from, to);
      for (const type of p.idRecordTypes ?? []) s.deleteRecord.run(type, id);
    }
    return ids;
  }

  commit(commits: readonly DurableCommit[]): CommitResult[] {
    return commits.length === 0 ? [] : this.batch(commits);
  }

  load(id: string): LoadedWorkflow | undefined {
    const row = this.statements.workflow.get(id);
    if (row === undefined) return undefined;
    const journal: JournalEntry[] = this.statements.journal.all(id).map((e) => ({ seq: e.seq, name: e.name, outcome: new Uint8Array(e.outcome) }));
    return { workflow: toWorkflow(row), journal };
  }

  list(partition: number, status: WorkflowStatus, limit: number): StoredWorkflow[] {
    return this.statements.list.all(partition, status, limit).map(toWorkflow);
  }

  nextTimers(partitions: readonly number[], limit: number): DurableTimer[] {
    if (limit === 0 || partitions.length === 0) return [];
    return this.statements.nextTimers.all(JSON.stringify([...new Set(partitions)]), limit).map(toTimer);
  }

  timer(id: string): DurableTimer | undefined {
    const row = this.statements.timer.get(id);
    return row === undefined ? undefined : toTimer(row);
  }

  private applyCommit(c: DurableCommit, now: number): number[] {
    const s = this.statements;
    const fence = fenceError(s.fence.get(c.partition), c);
    if (fence !== undefined) throw new Refused(fence);
    const versions = (c.records ?? []).map((r) => {
      const result = this.applyWrite({ ...r, partition: c.partition, epoch: c.epoch, writer: c.writer }, now);
      if (!result.ok) throw new Refused(result.error);
      return result.version;
    });
    const w = c.workflow;
    if (w !== undefined) s.upsertWorkflow.run(w.id, c.partition, w.name, w.status, buffer(w.input), w.output === undefined ? null : buffer(w.output), now);
    const j = c.journal;
    if (j !== undefined) {
      if (j.truncateFrom !== undefined) s.truncate.run(j.workflowId, j.truncateFrom);
      for (const e of j.append) {
        if (s.append.run(j.workflowId, e.seq, e.name, buffer(e.outcome)).changes !== 1) throw new Refused(journalConflictError(j.workflowId, e.seq));
      }
    }
    for (const d of c.timersDelete ?? []) {
      if (s.deleteTimer.run(d.id, c.partition).changes !== 1 && d.mustExist) throw new Refused(timerGoneError(d.id, c.partition));
    }
    for (const t of c.timersSet ?? []) {
      if (s.upsertTimer.run(t.id, c.partition, t.dueAt, t.kind, buffer(t.payload)).changes !== 1) {
        throw new Refused(new FlotillaError('FLO_INVALID_ARGUMENT', `timer ${t.id} belongs to another partition`, { timerId: t.id }));
      }
    }
    return versions;
  }
}
