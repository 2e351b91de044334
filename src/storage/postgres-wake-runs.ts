/**
 * Set-based application of firings that carry workflow changes on PostgreSQL: a sleep's
 * timer waking its workflow, a child's outcome journaled as its parent's step. Each such
 * commit removes its timer, rewrites one workflow record and may append journal entries;
 * applied one by one that is a savepoint and three or four statements per commit, so a
 * burst of wake-ups cost a round trip per statement per timer. Here a run of them costs
 * a fixed handful of statements: lock the timers, read which journal steps are taken,
 * decide every commit, then write all workflows, all entries and all removals at once.
 *
 * A run holds commits that touch disjoint workflows, journals and timers, so no commit's
 * outcome depends on another's of the same run; deciding each against the state before
 * the run then gives the outcome of applying them one by one. A refused commit (its timer
 * gone, its step journaled already) changes nothing and takes no other down.
 */
import type { CommitResult, DurableCommit } from './durable.js';
import { journalConflictError, timerGoneError } from './durable-validation.js';

type Query = <R extends { [column: string]: unknown }>(sql: string, values?: unknown[]) => Promise<R[]>;

/**
 * A commit that removes timers and rewrites a workflow (its journal only appended to, with
 * distinct steps), nothing else: the shape of a firing that wakes a workflow.
 */
export function wakesWorkflow(c: DurableCommit): boolean {
  if ((c.timersDelete?.length ?? 0) === 0 || c.workflow === undefined) return false;
  if ((c.records?.length ?? 0) > 0 || (c.timersSet?.length ?? 0) > 0) return false;
  if (new Set(c.timersDelete!.map((d) => d.id)).size !== c.timersDelete!.length) return false;
  const j = c.journal;
  return j === undefined || (j.truncateFrom === undefined && new Set(j.append.map((e) => e.seq)).size === j.append.length);
}

/** The keys a wake commit touches; a run holds commits with disjoint keys. */
export function wakeKeys(c: DurableCommit): string[] {
  const keys = [`w:${c.workflow!.id}`, ...c.timersDelete!.map((d) => `t:${d.id}`)];
  if (c.journal !== undefined) keys.push(`j:${c.journal.workflowId}`);
  return keys;
}

const LOCK_TIMERS = 'SELECT id, partition FROM flotilla_timers WHERE id = ANY ($1::text[]) ORDER BY id FOR UPDATE';

const TAKEN_STEPS = `
SELECT j.workflow_id, j.seq FROM flotilla_journal j
JOIN unnest($1::text[], $2::integer[]) AS u(w, s) ON j.workflow_id = u.w AND j.seq = u.s`;

// Ids are distinct within a run, so no row is changed twice by the statement.
const UPSERT_WORKFLOWS = `
INSERT INTO flotilla_workflows (id, partition, name, status, input, output, updated_at)
SELECT i, pa, n, st, inp, o, now() FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bytea[], $6::bytea[]) AS u(i, pa, n, st, inp, o)
ON CONFLICT (id) DO UPDATE SET partition = excluded.partition, name = excluded.name, status = excluded.status,
  input = excluded.input, output = excluded.output, updated_at = excluded.updated_at`;

const APPEND_ENTRIES = `
INSERT INTO flotilla_journal (workflow_id, seq, name, outcome)
SELECT w, s, n, o FROM unnest($1::text[], $2::integer[], $3::text[], $4::bytea[]) AS u(w, s, n, o)
ON CONFLICT DO NOTHING RETURNING workflow_id`;

/**
 * Apply a run of wake commits (all past the fence, keys disjoint): results in order, or
 * undefined when a journal step was taken by another transaction between the read and the
 * insert; the caller then rolls the run back and applies it commit by commit.
 */
export async function applyWakeRun(query: Query, run: readonly DurableCommit[]): Promise<CommitResult[] | undefined> {
  const locked = await query<{ id: string; partition: number }>(LOCK_TIMERS, [run.flatMap((c) => c.timersDelete!.map((d) => d.id))]);
  const timerPartition = new Map(locked.map((r) => [r.id, Number(r.partition)]));
  const asked = run.flatMap((c) => (c.journal === undefined ? [] : c.journal.append.map((e) => ({ w: c.journal!.workflowId, s: e.seq }))));
  const taken = new Set<string>();
  if (asked.length > 0) {
    const rows = await query<{ workflow_id: string; seq: number }>(TAKEN_STEPS, [asked.map((a) => a.w), asked.map((a) => a.s)]);
    for (const r of rows) taken.add(`${r.workflow_id}\u0000${r.seq}`);
  }
  const applied: DurableCommit[] = [];
  const removed: string[] = [];
  // A commit's refusals in the order one-by-one application meets them: journal, then timers.
  const results = run.map((c): CommitResult => {
    const j = c.journal;
    const clash = j?.append.find((e) => taken.has(`${j.workflowId}\u0000${e.seq}`));
    if (clash !== undefined) return { ok: false, error: journalConflictError(j!.workflowId, clash.seq) };
    const present = c.timersDelete!.filter((d) => timerPartition.get(d.id) === c.partition);
    const missing = c.timersDelete!.find((d) => d.mustExist && timerPartition.get(d.id) !== c.partition);
    if (missing !== undefined) return { ok: false, error: timerGoneError(missing.id, c.partition) };
    applied.push(c);
    removed.push(...present.map((d) => d.id));
    return { ok: true, versions: [] };
  });
  if (applied.length === 0) return results;
  const w = applied.map((c) => ({ ...c.workflow!, partition: c.partition }));
  await query(UPSERT_WORKFLOWS, [w.map((x) => x.id), w.map((x) => x.partition), w.map((x) => x.name), w.map((x) => x.status), w.map((x) => x.input), w.map((x) => x.output ?? null)]);
  const entries = applied.flatMap((c) => (c.journal === undefined ? [] : c.journal.append.map((e) => ({ w: c.journal!.workflowId, ...e }))));
  if (entries.length > 0) {
    const inserted = await query(APPEND_ENTRIES, [entries.map((e) => e.w), entries.map((e) => e.seq), entries.map((e) => e.name), entries.map((e) => e.outcome)]);
    if (inserted.length !== entries.length) return undefined;
  }
  if (removed.length > 0) await query('DELETE FROM flotilla_timers WHERE id = ANY ($1::text[])', [removed]);
  return results;
}
