/**
 * The SQLite store (better-sqlite3): the embedded default, one file that every process of
 * a local cluster opens. WAL lets readers run beside the writer; `synchronous = FULL` (the
 * default) makes each commit durable before its promise resolves, `NORMAL` trades power-loss
 * durability of the last commits for speed; every write transaction is
 * `BEGIN IMMEDIATE`, so the fence check and the write it guards are atomic across
 * processes. better-sqlite3 is synchronous: transactions stay short, statements prepared.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { assert, FlotillaError, isFlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { claimError, compareCodePoints, fenceError, versionConflictError } from './fence-rules.js';
import type { Logger } from '../core/logger.js';
import { SILENT_LOGGER } from '../core/logger.js';
import { MIGRATIONS_TABLE, pendingMigrations } from './migrations.js';
import { SqliteCheckpointer, WAL_CHECKPOINT_BYTES } from './sqlite-checkpointer.js';
import type { CommitResult, DurableCommit, DurableTimer, LoadedWorkflow, StoredWorkflow, WorkflowPurge, WorkflowStatus } from './durable.js';
import { checkCommits, checkExpiredQuery, checkPurge, checkTimerId, checkTimerQuery, checkWorkflowId, checkWorkflowList } from './durable-validation.js';
import { SqliteDurableTables } from './sqlite-durable.js';
import type { EntityCount, EntityWrite, PartitionFence, PendingClaim, Storage, StorageOptions, StoredEntity, WriteResult } from './storage.js';
import { checkClaim, checkEntityKey, checkList, checkWrites } from './validation.js';

/** How to open a SQLite store (the fields are documented on `StorageOptions`). */
export type SqliteStorageOptions = Omit<Extract<StorageOptions, { readonly kind: 'sqlite' }>, 'kind'>;

/** The values of the `synchronous` option. */
export type SqliteSynchronous = NonNullable<SqliteStorageOptions['synchronous']>;

/**
 * Defaults of `SqliteStorageOptions`. `busyTimeoutMs`: a longer wait rides out bursts
 * from many nodes writing one file; a shorter one surfaces a stuck process sooner.
 * `synchronous`: `'full'` keeps every resolved write through a power loss; `'normal'`
 * keeps it through a process crash only, for cheaper commits.
 */
export const SQLITE_DEFAULTS: { readonly busyTimeoutMs: number; readonly synchronous: SqliteSynchronous } = { busyTimeoutMs: 5000, synchronous: 'full' };

const SYNCHRONOUS_PRAGMAS: Readonly<Record<SqliteSynchronous, string>> = { full: 'FULL', normal: 'NORMAL' };
/** What `PRAGMA synchronous` reads back as, per option value. */
const SYNCHRONOUS_LEVELS: Readonly<Record<SqliteSynchronous, number>> = { full: 2, normal: 1 };

interface FenceRow {
  partition: number;
  epoch: number;
  owner: string;
}
interface EntityRow {
  partition: number;
  state: Buffer;
  version: number;
}

/** Turn what better-sqlite3 throws into FLO_STORAGE (catalogued errors pass through). */
function storageError(file: string, error: unknown): FlotillaError {
  if (isFlotillaError(error)) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const detail = code === 'SQLITE_BUSY' ? `${message} (another process held the write lock past busy_timeout)` : message;
  return new FlotillaError('FLO_STORAGE', `sqlite ${file}: ${detail}`, code === undefined ? undefined : { sqliteCode: code });
}

function prepareStatements(db: Database.Database) {
  return {
    fence: db.prepare<[number], FenceRow>('SELECT partition, epoch, owner FROM flotilla_partition_fences WHERE partition = ?'),
    upsertFence: db.prepare<[number, number, string, number]>(
      `INSERT INTO flotilla_partition_fences (partition, epoch, owner, claimed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner, claimed_at = excluded.claimed_at`,
    ),
    fences: db.prepare<[], FenceRow>('SELECT partition, epoch, owner FROM flotilla_partition_fences ORDER BY partition'),
    maxEpoch: db.prepare<[], { max: number | null }>('SELECT max(epoch) AS max FROM flotilla_partition_fences'),
    entity: db.prepare<[string, string], EntityRow>('SELECT partition, state, version FROM flotilla_entities WHERE type = ? AND id = ?'),
    entityVersion: db.prepare<[string, string], { version: number }>('SELECT version FROM flotilla_entities WHERE type = ? AND id = ?'),
    // The version check rides in the write itself: an insert that finds the row, or an
    // update that finds another version, changes nothing, and only then is the version read.
    insertEntity: db.prepare<[string, string, number, Buffer, number]>(
      `INSERT INTO flotilla_entities (type, id, partition, state, version, updated_at) VALUES (?, ?, ?, ?, 1, ?)
       ON CONFLICT (type, id) DO NOTHING`,
    ),
    updateEntity: db.prepare<[number, Buffer, number, string, string, number]>(
      `UPDATE flotilla_entities SET partition = ?, state = ?, version = version + 1, updated_at = ?
       WHERE type = ? AND id = ? AND version = ?`,
    ),
    deleteEntity: db.prepare<[string, string]>('DELETE FROM flotilla_entities WHERE type = ? AND id = ?'),
    count: db.prepare<[], EntityCount>('SELECT type, partition, count(*) AS count FROM flotilla_entities GROUP BY type, partition'),
    list: db.prepare<[string, number, number], { id: string }>(
      'SELECT id FROM flotilla_entities WHERE type = ? AND partition = ? ORDER BY id LIMIT ?',
    ),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** Create the migrations table and apply what is missing, all under one write lock. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = db.prepare<[], { version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`).all().map((r) => r.version);
    const record = db.prepare<[number, string, number]>(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`);
    for (const m of pendingMigrations(applied, `sqlite ${file}`)) {
      db.exec(m.sqlite);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
}

/** Open the file, set durability pragmas, and migrate; closes the handle on failure. */
function openDatabase(file: string, busyTimeoutMs: number, synchronous: SqliteSynchronous): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${SYNCHRONOUS_PRAGMAS[synchronous]}`);
    db.pragma('foreign_keys = ON');
    // Checkpoints run on the checkpoint worker, not inside this connection's commits; a WAL
    // the worker has fully copied back is cut to this size when the next writer resets it.
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_BYTES}`);
    migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The SQLite store. Open it with `SqliteStorage.open` (or `openStorage`). */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  private readonly statements: Statements;
  private readonly applyBatch: (writes: readonly EntityWrite[]) => WriteResult[];
  private readonly claimTx: (claims: readonly PendingClaim[]) => (PartitionFence | FlotillaError)[];
  private pendingClaims: PendingClaim[] = [];
  private readonly durable: SqliteDurableTables;
  private readonly checkpointer: SqliteCheckpointer;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    busyTimeoutMs: number,
    logger: Logger,
  ) {
    this.description = file;
    this.checkpointer = new SqliteCheckpointer(file, busyTimeoutMs, logger);
    this.statements = prepareStatements(db);
    const batch = db.transaction((writes: readonly EntityWrite[]) => this.applyWrites(writes));
    this.applyBatch = (writes) => batch.immediate(writes);
    // A refused claim writes nothing (its check comes first), so the others still commit.
    const claim = db.transaction((claims: readonly PendingClaim[]) =>
      claims.map((c) => {
        const refusal = claimError(this.statements.fence.get(c.partition), c.partition, c.epoch, c.owner);
        if (refusal !== undefined) return refusal;
        this.statements.upsertFence.run(c.partition, c.epoch, c.owner, Date.now());
        return { partition: c.partition, epoch: c.epoch, owner: c.owner };
      }),
    );
    this.claimTx = (claims) => claim.immediate(claims);
    this.durable = new SqliteDurableTables(db, (w, now) => this.applyWrite(w, now));
  }

  /** Open (creating when missing) and migrate the file at `options.path`. */
  static open(options: SqliteStorageOptions, logger: Logger = SILENT_LOGGER): Promise<SqliteStorage> {
    if (typeof options.path !== 'string' || options.path === '' || options.path === ':memory:') {
      return Promise.reject(new FlotillaError('FLO_CONFIG_INVALID', 'a SQLite store needs a file path'));
    }
    const file = path.resolve(options.path);
    const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      return Promise.reject(new FlotillaError('FLO_CONFIG_INVALID', `busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`));
    }
    const synchronous = options.synchronous ?? SQLITE_DEFAULTS.synchronous;
    if (!Object.hasOwn(SYNCHRONOUS_PRAGMAS, synchronous)) {
      return Promise.reject(new FlotillaError('FLO_CONFIG_INVALID', `synchronous must be 'full' or 'normal', got ${JSON.stringify(synchronous)}`));
    }
    try {
      return Promise.resolve(new SqliteStorage(openDatabase(file, busyTimeoutMs, synchronous), file, busyTimeoutMs, logger));
    } catch (error) {
      return Promise.reject(storageError(file, error));
    }
  }

  /**
   * Claims asked for in one turn commit together: a node that gains a third of the
   * partitions at once claims them all, and one commit per claim (an fsync each with
   * `synchronous = full`) would hold the event loop for as long as they take.
   */
  claimPartition(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence> {
    if (this.closed) return Promise.reject(new FlotillaError('FLO_STORAGE', `sqlite ${this.file}: storage is closed`));
    try {
      checkClaim(partition, epoch, owner);
    } catch (error) {
      return Promise.reject(storageError(this.file, error));
    }
    return new Promise((resolve, reject) => {
      this.pendingClaims.push({ partition, epoch, owner, resolve, reject });
      if (this.pendingClaims.length === 1) queueMicrotask(() => this.flushClaims());
    });
  }

  private flushClaims(): void {
    const claims = this.pendingClaims;
    this.pendingClaims = [];
    if (this.closed) {
      for (const c of claims) c.reject(new FlotillaError('FLO_STORAGE', `sqlite ${this.file}: storage is closed`));
      return;
    }
    let outcomes: (PartitionFence | FlotillaError)[];
    try {
      outcomes = this.claimTx(claims);
    } catch (error) {
      for (const c of claims) c.reject(storageError(this.file, error));
      return;
    }
    claims.forEach((c, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof FlotillaError) c.reject(outcome);
      else c.resolve(outcome);
    });
  }

  fences(): Promise<PartitionFence[]> {
    return this.run(() => this.statements.fences.all().map((r) => ({ partition: r.partition, epoch: r.epoch, owner: r.owner })));
  }

  maxEpoch(): Promise<number> {
    return this.run(() => this.statements.maxEpoch.get()?.max ?? 0);
  }

  loadEntity(type: string, id: string): Promise<StoredEntity | undefined> {
    return this.run(() => {
      checkEntityKey(type, id);
      const row = this.statements.entity.get(type, id);
      if (row === undefined) return undefined;
      return { type, id, partition: row.partition, state: new Uint8Array(row.state), version: row.version };
    });
  }

  writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]> {
    return this.run(() => {
      checkWrites(writes);
      return writes.length === 0 ? [] : this.applyBatch(writes);
    });
  }

  countEntities(): Promise<EntityCount[]> {
    return this.run(() =>
      this.statements.count
        .all()
        .map((r) => ({ type: r.type, partition: r.partition, count: r.count }))
        .sort((a, b) => compareCodePoints(a.type, b.type) || a.partition - b.partition),
    );
  }

  listEntities(type: string, partition: number, limit: number): Promise<string[]> {
    return this.run(() => {
      checkList(type, partition, limit);
      return this.statements.list.all(type, partition, limit).map((r) => r.id);
    });
  }

  commitDurable(commits: readonly DurableCommit[]): Promise<CommitResult[]> {
    return this.run(() => {
      checkCommits(commits);
      return this.durable.commit(commits);
    });
  }

  loadWorkflow(id: string): Promise<LoadedWorkflow | undefined> {
    return this.run(() => {
      checkWorkflowId(id);
      return this.durable.load(id);
    });
  }

  listWorkflows(partition: number, status: WorkflowStatus, limit: number): Promise<StoredWorkflow[]> {
    return this.run(() => {
      checkWorkflowList(partition, status, limit);
      return this.durable.list(partition, status, limit);
    });
  }

  nextTimers(partitions: readonly number[], limit: number): Promise<DurableTimer[]> {
    return this.run(() => {
      checkTimerQuery(partitions, limit);
      return this.durable.nextTimers(partitions, limit);
    });
  }

  loadTimer(id: string): Promise<DurableTimer | undefined> {
    return this.run(() => {
      checkTimerId(id);
      return this.durable.timer(id);
    });
  }

  purgeWorkflows(purge: WorkflowPurge): Promise<string[]> {
    return this.run(() => {
      checkPurge(purge);
      return this.durable.purge(purge);
    });
  }

  partitionsWithExpiredWorkflows(partitions: readonly number[], finishedMs: number): Promise<number[]> {
    return this.run(() => {
      checkExpiredQuery(partitions, finishedMs);
      return this.durable.expiredPartitions(partitions, finishedMs);
    });
  }

  /** The connection's `synchronous` level as SQLite reports it (read back, not remembered). */
  synchronous(): Promise<SqliteSynchronous> {
    return this.run(() => {
      const level = this.db.pragma('synchronous', { simple: true });
      const name = (Object.keys(SYNCHRONOUS_LEVELS) as SqliteSynchronous[]).find((k) => SYNCHRONOUS_LEVELS[k] === level);
      if (name === undefined) throw new FlotillaError('FLO_STORAGE', `sqlite ${this.file}: unexpected synchronous level ${String(level)}`);
      return name;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The worker's connection goes first, so this one is the last and leaves no WAL behind.
    await this.checkpointer.stop();
    try {
      this.db.close();
    } catch (error) {
      throw storageError(this.file, error);
    }
  }

  /**
   * Applies a batch inside its transaction. The transaction holds the write lock, so a
   * fence cannot change under it: each partition's fence is read once per batch.
   */
  private applyWrites(writes: readonly EntityWrite[]): WriteResult[] {
    const fences = new Map<number, FenceRow | undefined>();
    const now = Date.now();
    return writes.map((w) => {
      if (!fences.has(w.partition)) fences.set(w.partition, this.statements.fence.get(w.partition));
      const error = fenceError(fences.get(w.partition), w);
      return error === undefined ? this.applyWrite(w, now) : { ok: false, error };
    });
  }

  private applyWrite(w: EntityWrite, now: number): WriteResult {
    if (w.state === undefined) {
      const currentVersion = this.statements.entityVersion.get(w.type, w.id)?.version ?? 0;
      if (currentVersion !== w.expectedVersion) return { ok: false, error: versionConflictError(w, currentVersion) };
      this.statements.deleteEntity.run(w.type, w.id);
      return { ok: true, version: 0 };
    }
    const state = Buffer.from(w.state.buffer, w.state.byteOffset, w.state.byteLength);
    const changed =
      w.expectedVersion === 0
        ? this.statements.insertEntity.run(w.type, w.id, w.partition, state, now).changes
        : this.statements.updateEntity.run(w.partition, state, now, w.type, w.id, w.expectedVersion).changes;
    if (changed === 1) return { ok: true, version: w.expectedVersion + 1 };
    const currentVersion = this.statements.entityVersion.get(w.type, w.id)?.version ?? 0;
    assert(currentVersion !== w.expectedVersion, `write of ${w.type}/${w.id} at version ${currentVersion} changed nothing`);
    return { ok: false, error: versionConflictError(w, currentVersion) };
  }

  /** Run a synchronous body as a promise: closed stores and driver errors reject. */
  private run<T>(body: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new FlotillaError('FLO_STORAGE', `sqlite ${this.file}: storage is closed`));
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(storageError(this.file, error));
    }
  }
}
