/**
 * Workflow retention on PostgreSQL: one short transaction deletes a bounded batch of a
 * partition's finished executions (oldest first) with their journals, owned records and links,
 * behind the partition's fence. The age is measured by the server's clock, the one that
 * stamped `updated_at`.
 */
import type pg from 'pg';
import type { WorkflowPurge } from './durable.js';
import { fenceError } from './fence-rules.js';

// The outer status and age conditions are checked again on a row another transaction
// changed meanwhile (a failed execution started again is running, and stays).
const DELETE_EXPIRED = `
DELETE FROM flotilla_workflows w
WHERE w.id IN (
    SELECT id FROM flotilla_workflows
    WHERE partition = $1 AND status IN ('completed', 'failed') AND updated_at < now() - make_interval(secs => $2::double precision / 1000)
    ORDER BY updated_at LIMIT $3)
  AND w.status IN ('completed', 'failed') AND w.updated_at < now() - make_interval(secs => $2::double precision / 1000)
RETURNING w.id`;

// Records `<id>/...`: '0' follows '/', and ids use the "C" (byte order) collation.
const DELETE_OWNED = `
DELETE FROM flotilla_entities e USING unnest($1::text[]) AS g(id), unnest($2::text[]) AS t(type)
WHERE e.type = t.type AND e.id >= g.id || '/' AND e.id < g.id || '0'`;

// Records whose id is the execution's own (a child's link to its parent).
const DELETE_BY_ID = `
DELETE FROM flotilla_entities e USING unnest($2::text[]) AS t(type)
WHERE e.type = t.type AND e.id = ANY ($1::text[])`;

// Most sweeps find nothing to delete: a plain read answers that without a transaction or
// a lock, so an idle cluster's sweeps write nothing.
const ANY_EXPIRED = `
SELECT 1 FROM flotilla_workflows
WHERE partition = $1 AND status IN ('completed', 'failed') AND updated_at < now() - make_interval(secs => $2::double precision / 1000)
LIMIT 1`;

/** Which of some partitions ($1) hold executions finished more than $2 ms ago: one index probe each. */
export const EXPIRED_PARTITIONS = `
SELECT p AS partition FROM unnest($1::integer[]) AS p
WHERE EXISTS (
  SELECT 1 FROM flotilla_workflows
  WHERE partition = p AND status IN ('completed', 'failed') AND updated_at < now() - make_interval(secs => $2::double precision / 1000))
ORDER BY p`;

/** Delete one batch of expired executions of a partition; answers their ids. */
export async function purgeOnClient(client: pg.PoolClient, p: WorkflowPurge): Promise<string[]> {
  if ((await client.query(ANY_EXPIRED, [p.partition, p.finishedMs])).rows.length === 0) return [];
  await client.query('BEGIN');
  try {
    const fence = await client.query<{ epoch: string; owner: string }>('SELECT epoch, owner FROM flotilla_partition_fences WHERE partition = $1 FOR SHARE', [p.partition]);
    const row = fence.rows[0];
    const refused = fenceError(row === undefined ? undefined : { epoch: Number(row.epoch), owner: row.owner }, p);
    if (refused !== undefined) throw refused;
    const ids = (await client.query<{ id: string }>(DELETE_EXPIRED, [p.partition, p.finishedMs, p.limit])).rows.map((r) => r.id);
    if (ids.length > 0) {
      await client.query('DELETE FROM flotilla_journal WHERE workflow_id = ANY ($1::text[])', [ids]);
      if (p.recordTypes.length > 0) await client.query(DELETE_OWNED, [ids, [...p.recordTypes]]);
      if ((p.idRecordTypes?.length ?? 0) > 0) await client.query(DELETE_BY_ID, [ids, [...p.idRecordTypes!]]);
    }
    await client.query('COMMIT');
    return ids;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
