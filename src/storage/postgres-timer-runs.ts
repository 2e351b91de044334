/**
 * Set-based application of timer-only commits on PostgreSQL. A burst of due timers is a
 * run of commits that each only remove timers (firings), a burst of schedules a run that
 * each only set timers; applied one by one they cost a statement round trip per commit,
 * which caps firing at a few hundred timers a second. Here a run costs two statements
 * (lock the rows, then change them all) and keeps the outcome of applying its commits one
 * by one in order: each commit is still refused or applied on its own, and a `mustExist`
 * removal still refuses a commit whose timer is gone, so a timer fires once.
 */
import { FlotillaError } from '../core/errors.js';
import type { CommitResult, DurableCommit } from './durable.js';
import { timerGoneError } from './durable-validation.js';

type Query = <R extends { [column: string]: unknown }>(sql: string, values?: unknown[]) => Promise<R[]>;

/** A commit that only removes timers. */
export function removesTimersOnly(c: DurableCommit): boolean {
  return (c.timersDelete?.length ?? 0) > 0 && hasNoOtherChanges(c) && (c.timersSet?.length ?? 0) === 0;
}

/** A commit that only sets timers. */
export function setsTimersOnly(c: DurableCommit): boolean {
  return (c.timersSet?.length ?? 0) > 0 && hasNoOtherChanges(c) && (c.timersDelete?.length ?? 0) === 0;
}

function hasNoOtherChanges(c: DurableCommit): boolean {
  return (c.records?.length ?? 0) === 0 && c.workflow === undefined && c.journal === undefined;
}

// Row locks in id order, so two runs never wait on each other in a cycle.
const LOCK_BY_ID = 'SELECT id, partition FROM flotilla_timers WHERE id = ANY ($1::text[]) ORDER BY id FOR UPDATE';

const UPSERT_LOCKED = `
INSERT INTO flotilla_timers AS t (id, partition, due_at, kind, payload)
SELECT i, pa, d, k, p FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::bytea[]) AS u(i, pa, d, k, p)
ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, payload = excluded.payload
  WHERE t.partition = excluded.partition
RETURNING id`;

async function lockedPartitions(query: Query, ids: readonly string[]): Promise<Map<string, number>> {
  const rows = await query<{ id: string; partition: number }>(LOCK_BY_ID, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, Number(r.partition)]));
}

/** Apply a run of commits that only remove timers (all past the fence): results in order. */
export async function applyRemovalRun(query: Query, run: readonly DurableCommit[]): Promise<CommitResult[]> {
  const where = await lockedPartitions(query, run.flatMap((c) => c.timersDelete!.map((d) => d.id)));
  const removed: string[] = [];
  const results = run.map((c): CommitResult => {
    const gone = new Set<string>();
    for (const d of c.timersDelete!) {
      const present = where.get(d.id) === c.partition && !gone.has(d.id);
      if (present) gone.add(d.id);
      else if (d.mustExist) return { ok: false, error: timerGoneError(d.id, c.partition) };
    }
    for (const id of gone) where.delete(id);
    removed.push(...gone);
    return { ok: true, versions: [] };
  });
  if (removed.length > 0) await query('DELETE FROM flotilla_timers WHERE id = ANY ($1::text[])', [removed]);
  return results;
}

/**
 * Apply a run of commits that only set timers (all past the fence): results in order, or
 * undefined when a timer of the run was created in another partition meanwhile (a row the
 * lock could not see); the caller then rolls the run back and applies it commit by commit.
 */
export async function applySettingRun(query: Query, run: readonly DurableCommit[]): Promise<CommitResult[] | undefined> {
  const where = await lockedPartitions(query, run.flatMap((c) => c.timersSet!.map((t) => t.id)));
  const latest = new Map<string, { partition: number; timer: NonNullable<DurableCommit['timersSet']>[number] }>();
  const results = run.map((c): CommitResult => {
    const foreign = c.timersSet!.find((t) => where.has(t.id) && where.get(t.id) !== c.partition);
    if (foreign !== undefined) return { ok: false, error: new FlotillaError('FLO_INVALID_ARGUMENT', `timer ${foreign.id} belongs to another partition`, { timerId: foreign.id }) };
    for (const t of c.timersSet!) {
      where.set(t.id, c.partition);
      latest.set(t.id, { partition: c.partition, timer: t });
    }
    return { ok: true, versions: [] };
  });
  if (latest.size === 0) return results;
  const rows = [...latest.values()];
  const written = await query<{ id: string }>(UPSERT_LOCKED, [
    rows.map((r) => r.timer.id),
    rows.map((r) => r.partition),
    rows.map((r) => r.timer.dueAt),
    rows.map((r) => r.timer.kind),
    rows.map((r) => r.timer.payload),
  ]);
  return written.length === rows.length ? results : undefined;
}
