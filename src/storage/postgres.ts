/**
 * The PostgreSQL store (`pg` Pool), for clusters across hosts. A claim is one upsert
 * whose WHERE clause is the claim rule; a batch of writes is one function call, which locks
 * the batch's fence rows in partition order and applies every write in one transaction and
 * one round trip: `flotilla_write_entities_distinct` (one statement for the whole batch)
 * when its keys are distinct, else `flotilla_write_entities` (write by write, in order).
 */
import pg from 'pg';
import { assert, FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { compareCodePoints, fenceError, versionConflictError } from './fence-rules.js';
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.js';
import { PostgresClaims, toFence, type FenceRow } from './postgres-claims.js';
import { postgresError, resolvePostgresOptions, type PostgresStorageOptions, type ResolvedPostgresOptions } from './postgres-connection.js';
import type { CommitResult, DurableCommit, DurableTimer, LoadedWorkflow, StoredWorkflow, WorkflowPurge, WorkflowStatus } from './durable.js';
import { checkCommits, checkExpiredQuery, checkPurge, checkTimerId, checkTimerQuery, checkWorkflowId, checkWorkflowList } from './durable-validation.js';
import { commitOnClient, loadWorkflowRows, nextTimerRows, timerRow, WorkflowLists } from './postgres-durable.js';
import { EXPIRED_PARTITIONS, purgeOnClient } from './postgres-purge.js';
import type { EntityCount, EntityWrite, PartitionFence, Storage, StoredEntity, WriteResult } from './storage.js';
import { checkClaim, checkEntityKey, checkList, checkWrites } from './validation.js';

/** First key of the advisory lock that serializes migrations (the second is the schema's hash). */
const MIGRATION_LOCK_KEY = 0x466c6f74;

const writeSql = (fn: string): string => `
SELECT r.fence_epoch, r.fence_owner, r.current_version, r.applied, r.new_version
FROM ${fn}($1::integer[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[])
  WITH ORDINALITY AS r(fence_epoch, fence_owner, current_version, applied, new_version, n)
ORDER BY r.n`;
/** Write by write: any batch, and the cheaper one for a single write. */
const WRITE_SQL = writeSql('flotilla_write_entities');
/** One statement for the whole batch (schema version 3): batches whose keys are all distinct. */
const WRITE_DISTINCT_SQL = writeSql('flotilla_write_entities_distinct');

interface WriteRow {
  fence_epoch: string | null;
  fence_owner: string | null;
  current_version: string;
  applied: boolean;
  new_version: string;
}

/** Create the schema and apply missing migrations inside one advisory-locked transaction. */
async function migrate(pool: pg.Pool, resolved: ResolvedPostgresOptions): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_KEY, resolved.schema]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [resolved.schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${resolved.schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
    for (const m of pendingMigrations(
      applied.rows.map((r) => r.version),
      resolved.description,
    )) {
      await client.query(m.postgres);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The PostgreSQL store. Open it with `PostgresStorage.open` (or `openStorage`). */
export class PostgresStorage implements Storage {
  readonly kind = 'postgres' as const;
  readonly description: string;
  private closing: Promise<void> | undefined;
  private readonly claims = new PostgresClaims((sql, values) => this.query(sql, values));
  private readonly workflowLists = new WorkflowLists((sql, values) => this.query(sql, values));

  private constructor(private readonly pool: pg.Pool, description: string) {
    this.description = description;
  }

  /** Connect, create the schema when missing, and migrate. */
  static async open(options: PostgresStorageOptions): Promise<PostgresStorage> {
    const resolved = resolvePostgresOptions(options);
    const pool = new pg.Pool({
      connectionString: resolved.connectionString,
      max: resolved.poolSize,
      connectionTimeoutMillis: resolved.connectTimeoutMs,
      keepAlive: true,
    });
    // An idle connection that breaks is dropped by the pool; the next query reconnects
    // or rejects with FLO_STORAGE, so there is nothing to do here but not crash.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, resolved);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw postgresError(resolved.description, error);
    }
    return new PostgresStorage(pool, resolved.description);
  }

  /** Claims asked for in one turn go to the server as one statement (`PostgresClaims`). */
  async claimPartition(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence> {
    checkClaim(partition, epoch, owner);
    return this.claims.claim(partition, epoch, owner);
  }

  async fences(): Promise<PartitionFence[]> {
    const rows = await this.query<FenceRow>('SELECT partition, epoch, owner FROM flotilla_partition_fences ORDER BY partition');
    return rows.map(toFence);
  }

  async maxEpoch(): Promise<number> {
    const rows = await this.query<{ max: string | null }>('SELECT max(epoch) AS max FROM flotilla_partition_fences');
    return Number(rows[0]?.max ?? 0);
  }

  async loadEntity(type: string, id: string): Promise<StoredEntity | undefined> {
    checkEntityKey(type, id);
    const rows = await this.query<{ partition: number; state: Buffer; version: string }>(
      'SELECT partition, state, version FROM flotilla_entities WHERE type = $1 AND id = $2',
      [type, id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { type, id, partition: row.partition, state: new Uint8Array(row.state), version: Number(row.version) };
  }

  async writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]> {
    checkWrites(writes);
    if (writes.length === 0) {
      this.checkOpen();
      return [];
    }
    const rows = await this.query<WriteRow>(writes.length > 1 && keysDistinct(writes) ? WRITE_DISTINCT_SQL : WRITE_SQL, [
      writes.map((w) => w.partition),
      writes.map((w) => w.epoch),
      writes.map((w) => w.writer),
      writes.map((w) => w.type),
      writes.map((w) => w.id),
      writes.map((w) => w.state ?? null),
      writes.map((w) => w.expectedVersion),
    ]);
    assert(rows.length === writes.length, `flotilla_write_entities returned ${rows.length} rows for ${writes.length} writes`);
    return writes.map((w, i) => writeResult(w, rows[i]!));
  }

  async countEntities(): Promise<EntityCount[]> {
    const rows = await this.query<{ type: string; partition: number; count: string }>(
      'SELECT type, partition, count(*) AS count FROM flotilla_entities GROUP BY type, partition',
    );
    return rows
      .map((r) => ({ type: r.type, partition: r.partition, count: Number(r.count) }))
      .sort((a, b) => compareCodePoints(a.type, b.type) || a.partition - b.partition);
  }

  async listEntities(type: string, partition: number, limit: number): Promise<string[]> {
    checkList(type, partition, limit);
    const rows = await this.query<{ id: string }>('SELECT id FROM flotilla_entities WHERE type = $1 AND partition = $2 ORDER BY id LIMIT $3', [
      type,
      partition,
      limit,
    ]);
    return rows.map((r) => r.id);
  }

  async commitDurable(commits: readonly DurableCommit[]): Promise<CommitResult[]> {
    checkCommits(commits);
    this.checkOpen();
    if (commits.length === 0) return [];
    return this.onClient((client) => commitOnClient(client, commits));
  }

  /** Runs `work` on one pooled connection (a transaction's statements must share one); any failure as FLO_STORAGE. */
  private async onClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw postgresError(this.description, error);
    }
    try {
      return await work(client);
    } catch (error) {
      throw postgresError(this.description, error);
    } finally {
      client.release();
    }
  }

  async loadWorkflow(id: string): Promise<LoadedWorkflow | undefined> {
    checkWorkflowId(id);
    return loadWorkflowRows((sql, values) => this.query(sql, values), id);
  }

  async listWorkflows(partition: number, status: WorkflowStatus, limit: number): Promise<StoredWorkflow[]> {
    checkWorkflowList(partition, status, limit);
    return this.workflowLists.list(partition, status, limit);
  }

  async nextTimers(partitions: readonly number[], limit: number): Promise<DurableTimer[]> {
    checkTimerQuery(partitions, limit);
    return nextTimerRows((sql, values) => this.query(sql, values), partitions, limit);
  }

  async loadTimer(id: string): Promise<DurableTimer | undefined> {
    checkTimerId(id);
    return timerRow((sql, values) => this.query(sql, values), id);
  }

  async purgeWorkflows(purge: WorkflowPurge): Promise<string[]> {
    checkPurge(purge);
    this.checkOpen();
    return this.onClient((client) => purgeOnClient(client, purge));
  }

  async partitionsWithExpiredWorkflows(partitions: readonly number[], finishedMs: number): Promise<number[]> {
    checkExpiredQuery(partitions, finishedMs);
    if (partitions.length === 0) return [];
    const rows = await this.query<{ partition: number }>(EXPIRED_PARTITIONS, [[...new Set(partitions)], finishedMs]);
    return rows.map((r) => Number(r.partition));
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end().catch((error: unknown) => {
      throw postgresError(this.description, error);
    });
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new FlotillaError('FLO_STORAGE', `${this.description}: storage is closed`);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> {
    this.checkOpen();
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (error) {
      throw postgresError(this.description, error);
    }
  }
}

/** Whether no two writes of the batch name the same entity (a later one must see an earlier one's result). */
function keysDistinct(writes: readonly EntityWrite[]): boolean {
  const keys = new Set<string>();
  for (const w of writes) keys.add(`${w.type}\u0000${w.id}`);
  return keys.size === writes.length;
}

function writeResult(w: EntityWrite, row: WriteRow): WriteResult {
  if (row.applied) return { ok: true, version: Number(row.new_version) };
  const fence = row.fence_epoch === null || row.fence_owner === null ? undefined : { epoch: Number(row.fence_epoch), owner: row.fence_owner };
  const currentVersion = Number(row.current_version);
  const error = fenceError(fence, w) ?? (currentVersion !== w.expectedVersion ? versionConflictError(w, currentVersion) : undefined);
  assert(error !== undefined, `write of ${w.type}/${w.id} refused by a fence and version that allow it`);
  return { ok: false, error };
}
