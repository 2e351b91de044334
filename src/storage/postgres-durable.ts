/**
 * The PostgreSQL store's durable-execution tables. A `commitDurable` call is one
 * transaction on one pooled connection; it locks the fence rows of all its partitions
 * FOR SHARE in one statement, applies runs of timer-only commits (a burst of firings or of
 * schedules) and runs of workflow wake-ups (firings that also rewrite their workflow)
 * set-based, and runs any other commit of several statements in a savepoint, so a refused
 * commit rolls back alone.
 */
import type pg from 'pg';
import { FlotillaError } from '../core/errors.js';
import { fenceError, versionConflictError, type FenceState } from './fence-rules.js';
import type { CommitResult, DurableCommit, DurableTimer, LoadedWorkflow, StoredWorkflow, WorkflowStatus } from './durable.js';
import { toTimer, toWorkflow, type TimerRow, type WorkflowRow } from './durable-rows.js';
import { journalConflictError, timerGoneError } from './durable-validation.js';
import { applyRemovalRun, applySettingRun, removesTimersOnly, setsTimersOnly } from './postgres-timer-runs.js';
import { applyWakeRun, wakeKeys, wakesWorkflow } from './postgres-wake-runs.js';

/** Most commits of a set-based run (bounds the statements' arrays). */
const TIMER_RUN_MAX = 1_024;

const WORKFLOW_COLUMNS = 'id, partition, name, status, input, output';
const TIMER_COLUMNS = 'id, partition, due_at, kind, payload';

const UPSERT_WORKFLOW = `
INSERT INTO flotilla_workflows (id, partition, name, status, input, output, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())
ON CONFLICT (id) DO UPDATE SET partition = excluded.partition, name = excluded.name, status = excluded.status,
  input = excluded.input, output = excluded.output, updated_at = excluded.updated_at`;

const APPEND_JOURNAL = `
INSERT INTO flotilla_journal (workflow_id, seq, name, outcome)
SELECT $1, s, n, o FROM unnest($2::integer[], $3::text[], $4::bytea[]) AS t(s, n, o)
ON CONFLICT DO NOTHING RETURNING seq`;

const UPSERT_TIMERS = `
INSERT INTO flotilla_timers AS t (id, partition, due_at, kind, payload)
SELECT i, $1, d, k, p FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bytea[]) AS u(i, d, k, p)
ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, payload = excluded.payload
  WHERE t.partition = excluded.partition
RETURNING id`;

const NEXT_TIMERS = `SELECT ${TIMER_COLUMNS} FROM flotilla_timers WHERE partition = ANY ($1::integer[]) ORDER BY due_at, id LIMIT $2`;

/** Why a commit was refused, thrown out of its savepoint. */
class Refused extends Error {
  constructor(readonly error: FlotillaError) {
    super(error.message);
  }
}

type Query = <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<R[]>;

/** Apply every commit on `client` in one transaction; the caller maps driver errors. */
export async function commitOnClient(client: pg.PoolClient, commits: readonly DurableCommit[]): Promise<CommitResult[]> {
  const query: Query = async (sql, values) => (await client.query(sql, values)).rows;
  await client.query('BEGIN');
  try {
    const fences = await lockFences(query, commits);
    const results: (CommitResult | undefined)[] = commits.map((c) => {
      const fence = fenceError(fences.get(c.partition), c);
      return fence === undefined ? undefined : { ok: false, error: fence };
    });
    const passed = commits.flatMap((c, i) => (results[i] === undefined ? [i] : []));
    for (let k = 0; k < passed.length; ) {
      const run = runFrom(commits, passed, k);
      const applied = await applyRun(client, query, run.map((i) => commits[i]!));
      run.forEach((i, n) => (results[i] = applied[n]));
      k += run.length;
    }
    await client.query('COMMIT');
    return results as CommitResult[];
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Every fence row the commits need, locked FOR SHARE until the transaction ends (a claim
 * updates that row, so it waits for the transaction or the transaction sees the claim),
 * in one statement and in partition order.
 */
async function lockFences(query: Query, commits: readonly DurableCommit[]): Promise<Map<number, FenceState>> {
  const partitions = [...new Set(commits.map((c) => c.partition))];
  const rows = await query<{ partition: number; epoch: string; owner: string }>(
    'SELECT partition, epoch, owner FROM flotilla_partition_fences WHERE partition = ANY ($1::integer[]) ORDER BY partition FOR SHARE',
    [partitions],
  );
  return new Map(rows.map((r) => [Number(r.partition), { epoch: Number(r.epoch), owner: r.owner }]));
}

/**
 * The longest run from `passed[k]` of fenced-in commits that apply together: timer removals
 * only, timer sets only, or wake-ups of distinct workflows with distinct timers.
 */
function runFrom(commits: readonly DurableCommit[], passed: readonly number[], k: number): number[] {
  const first = commits[passed[k]!]!;
  if (wakesWorkflow(first)) return wakeRunFrom(commits, passed, k);
  const alike = removesTimersOnly(first) ? removesTimersOnly : setsTimersOnly(first) ? setsTimersOnly : undefined;
  if (alike === undefined) return [passed[k]!];
  const run = [passed[k]!];
  while (k + run.length < passed.length && run.length < TIMER_RUN_MAX && alike(commits[passed[k + run.length]!]!)) run.push(passed[k + run.length]!);
  return run;
}

// A commit touching what an earlier one of the run touches ends the run, so the run's
// commits can be decided against the state before it.
function wakeRunFrom(commits: readonly DurableCommit[], passed: readonly number[], k: number): number[] {
  const run: number[] = [];
  const seen = new Set<string>();
  while (k + run.length < passed.length && run.length < TIMER_RUN_MAX) {
    const c = commits[passed[k + run.length]!]!;
    if (!wakesWorkflow(c)) break;
    const keys = wakeKeys(c);
    if (keys.some((key) => seen.has(key))) break;
    for (const key of keys) seen.add(key);
    run.push(passed[k + run.length]!);
  }
  return run;
}

/** Apply a run (of one commit, or set-based); results in order. */
async function applyRun(client: pg.PoolClient, query: Query, run: readonly DurableCommit[]): Promise<CommitResult[]> {
  if (run.length === 1) return [await applyOne(client, query, run[0]!)];
  if (removesTimersOnly(run[0]!)) return applyRemovalRun(query, run);
  const apply = wakesWorkflow(run[0]!) ? applyWakeRun : applySettingRun;
  await client.query('SAVEPOINT flotilla_run');
  const set = await apply(query, run);
  if (set !== undefined) {
    await client.query('RELEASE SAVEPOINT flotilla_run');
    return set;
  }
  await client.query('ROLLBACK TO SAVEPOINT flotilla_run');
  const results: CommitResult[] = [];
  for (const c of run) results.push(await applyOne(client, query, c));
  return results;
}

/**
 * Apply one fenced commit. A commit that changes rows in more than one statement runs in a
 * savepoint, so a refusal part-way undoes its earlier statements; a commit of one changing
 * statement needs none (a refused statement changed nothing), saving two round trips.
 */
async function applyOne(client: pg.PoolClient, query: Query, c: DurableCommit): Promise<CommitResult> {
  const single = changingStatements(c) <= 1;
  if (!single) await client.query('SAVEPOINT flotilla_commit');
  try {
    const versions = await applyCommit(query, c);
    if (!single) await client.query('RELEASE SAVEPOINT flotilla_commit');
    return { ok: true, versions };
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    if (!single) await client.query('ROLLBACK TO SAVEPOINT flotilla_commit');
    return { ok: false, error: error.error };
  }
}

/** Statements of a commit that change rows and may be refused after another changed some. */
function changingStatements(c: DurableCommit): number {
  const many = (n: number): number => (n === 0 ? 0 : n === 1 ? 1 : 2);
  return (
    many(c.records?.length ?? 0) +
    (c.workflow === undefined ? 0 : 1) +
    (c.journal?.truncateFrom === undefined ? 0 : 1) +
    many(c.journal?.append.length ?? 0) +
    many(c.timersSet?.length ?? 0) +
    many(c.timersDelete?.length ?? 0)
  );
}

async function applyCommit(query: Query, c: DurableCommit): Promise<number[]> {
  const versions = await applyRecords(query, c);
  const w = c.workflow;
  if (w !== undefined) await query(UPSERT_WORKFLOW, [w.id, c.partition, w.name, w.status, w.input, w.output ?? null]);
  const j = c.journal;
  if (j !== undefined) {
    if (j.truncateFrom !== undefined) await query('DELETE FROM flotilla_journal WHERE workflow_id = $1 AND seq >= $2', [j.workflowId, j.truncateFrom]);
    if (j.append.length > 0) {
      const inserted = await query<{ seq: number }>(APPEND_JOURNAL, [j.workflowId, j.append.map((e) => e.seq), j.append.map((e) => e.name), j.append.map((e) => e.outcome)]);
      if (inserted.length !== j.append.length) {
        const taken = new Set(inserted.map((r) => r.seq));
        const seq = j.append.find((e) => !taken.has(e.seq))?.seq ?? j.append[0]!.seq;
        throw new Refused(journalConflictError(j.workflowId, seq));
      }
    }
  }
  await applyTimers(query, c);
  return versions;
}

async function applyRecords(query: Query, c: DurableCommit): Promise<number[]> {
  const versions: number[] = [];
  for (const r of c.records ?? []) {
    const current = await query<{ version: string }>('SELECT version FROM flotilla_entities WHERE type = $1 AND id = $2 FOR UPDATE', [r.type, r.id]);
    const version = Number(current[0]?.version ?? 0);
    if (version !== r.expectedVersion) throw new Refused(versionConflictError(r, version));
    if (r.state === undefined) {
      await query('DELETE FROM flotilla_entities WHERE type = $1 AND id = $2', [r.type, r.id]);
      versions.push(0);
    } else if (version === 0) {
      const inserted = await query(
        'INSERT INTO flotilla_entities (type, id, partition, state, version, updated_at) VALUES ($1, $2, $3, $4, 1, now()) ON CONFLICT (type, id) DO NOTHING RETURNING version',
        [r.type, r.id, c.partition, r.state],
      );
      if (inserted.length !== 1) throw new Refused(versionConflictError(r, 1));
      versions.push(1);
    } else {
      await query('UPDATE flotilla_entities SET state = $3, version = $4, partition = $5, updated_at = now() WHERE type = $1 AND id = $2', [r.type, r.id, r.state, version + 1, c.partition]);
      versions.push(version + 1);
    }
  }
  return versions;
}

async function applyTimers(query: Query, c: DurableCommit): Promise<void> {
  const deletes = c.timersDelete ?? [];
  if (deletes.length > 0) {
    const gone = await query<{ id: string }>('DELETE FROM flotilla_timers WHERE id = ANY ($1::text[]) AND partition = $2 RETURNING id', [deletes.map((d) => d.id), c.partition]);
    const removed = new Set(gone.map((r) => r.id));
    const missing = deletes.find((d) => d.mustExist && !removed.has(d.id));
    if (missing !== undefined) throw new Refused(timerGoneError(missing.id, c.partition));
  }
  const sets = c.timersSet ?? [];
  if (sets.length > 0) {
    const written = await query<{ id: string }>(UPSERT_TIMERS, [c.partition, sets.map((t) => t.id), sets.map((t) => t.dueAt), sets.map((t) => t.kind), sets.map((t) => t.payload)]);
    if (written.length !== new Set(sets.map((t) => t.id)).size) {
      throw new Refused(new FlotillaError('FLO_INVALID_ARGUMENT', 'a timer of this commit belongs to another partition', { partition: c.partition }));
    }
  }
}

/** Read a workflow and its journal. */
export async function loadWorkflowRows(query: Query, id: string): Promise<LoadedWorkflow | undefined> {
  const rows = await query<WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS} FROM flotilla_workflows WHERE id = $1`, [id]);
  if (rows[0] === undefined) return undefined;
  const journal = await query<{ seq: number; name: string; outcome: Buffer }>('SELECT seq, name, outcome FROM flotilla_journal WHERE workflow_id = $1 ORDER BY seq', [id]);
  return { workflow: toWorkflow(rows[0]), journal: journal.map((e) => ({ seq: e.seq, name: e.name, outcome: new Uint8Array(e.outcome) })) };
}

/** Workflows of a partition with a status. */
// Each partition's first `limit` executions of a status, for several partitions in one statement.
const LIST_WORKFLOWS = `
SELECT w.id, w.partition, w.name, w.status, w.input, w.output
FROM unnest($1::integer[]) AS p(partition)
CROSS JOIN LATERAL (
  SELECT ${WORKFLOW_COLUMNS} FROM flotilla_workflows
  WHERE partition = p.partition AND status = $2 ORDER BY id LIMIT $3
) AS w
ORDER BY w.partition, w.id`;

interface PendingList {
  readonly partition: number;
  resolve(rows: StoredWorkflow[]): void;
  reject(error: unknown): void;
}

/**
 * Workflow listings asked for in one turn, one statement per status and limit: a node that
 * gains a third of the partitions lists each one's running executions at once, and a round
 * trip each queued them behind one another on the pool while those executions waited to resume.
 */
export class WorkflowLists {
  private readonly pending = new Map<string, { status: WorkflowStatus; limit: number; lists: PendingList[] }>();

  constructor(private readonly query: Query) {}

  list(partition: number, status: WorkflowStatus, limit: number): Promise<StoredWorkflow[]> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) queueMicrotask(() => this.flush());
      const key = `${status}/${limit}`;
      const group = this.pending.get(key) ?? { status, limit, lists: [] };
      group.lists.push({ partition, resolve, reject });
      this.pending.set(key, group);
    });
  }

  private flush(): void {
    const groups = [...this.pending.values()];
    this.pending.clear();
    for (const { status, limit, lists } of groups) {
      const partitions = [...new Set(lists.map((l) => l.partition))];
      this.query<WorkflowRow>(LIST_WORKFLOWS, [partitions, status, limit]).then(
        (rows) => {
          const byPartition = new Map<number, StoredWorkflow[]>();
          for (const row of rows) {
            const w = toWorkflow(row);
            const list = byPartition.get(w.partition);
            if (list === undefined) byPartition.set(w.partition, [w]);
            else list.push(w);
          }
          for (const l of lists) l.resolve(byPartition.get(l.partition) ?? []);
        },
        (error: unknown) => {
          for (const l of lists) l.reject(error);
        },
      );
    }
  }
}

/** The earliest timers of some partitions (a walk of the due-time index). */
export async function nextTimerRows(query: Query, partitions: readonly number[], limit: number): Promise<DurableTimer[]> {
  if (limit === 0 || partitions.length === 0) return [];
  return (await query<TimerRow>(NEXT_TIMERS, [[...new Set(partitions)], limit])).map(toTimer);
}

/** A timer by id. */
export async function timerRow(query: Query, id: string): Promise<DurableTimer | undefined> {
  const rows = await query<TimerRow>(`SELECT ${TIMER_COLUMNS} FROM flotilla_timers WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : toTimer(rows[0]);
}
