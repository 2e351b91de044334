/**
 * Storage cost as the entity runtime sees it: a durable commit of one write (an entity
 * call's save), a batch of 64 writes in one commit (the write batcher under load), and a
 * partition claim (paid on every ownership change), for SQLite and PostgreSQL.
 * PostgreSQL runs only when FLOTILLA_TEST_POSTGRES_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SeededRandom } from '../src/core/random.js';
import { PostgresStorage } from '../src/storage/postgres.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import type { EntityWrite, Storage } from '../src/storage/storage.js';
import { resolvePostgresOptions } from '../src/storage/postgres-connection.js';
import { fmt, summarize, type Row, type Suite } from './harness.js';

const STATE_BYTES = 256;
const ENTITIES = 1000;
const SINGLE_WRITES = 2000;
const BATCH_SIZE = 64;
const BATCHES = 100;
const CLAIMS = 500;
const PARTITION = 17;

function makeState(seed: number): Uint8Array {
  const random = new SeededRandom(seed);
  return Uint8Array.from({ length: STATE_BYTES }, () => random.int(256));
}

/** Writes that cycle through ENTITIES ids, each expecting the version the last one left. */
class WriteSource {
  private readonly versions = new Map<string, number>();
  private next = 0;
  private readonly state = makeState(20_251_126);

  constructor(private readonly type = 'bench') {}

  take(count: number): EntityWrite[] {
    const writes: EntityWrite[] = [];
    for (let i = 0; i < count; i++) {
      const id = `bench-${this.next++ % ENTITIES}`;
      const expectedVersion = this.versions.get(id) ?? 0;
      this.versions.set(id, expectedVersion + 1);
      writes.push({ partition: PARTITION, epoch: 1, writer: 'bench-node', type: this.type, id, state: this.state, expectedVersion });
    }
    return writes;
  }
}

async function timed(repeats: number, body: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await body(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Rate and percentiles of one case, as numbers (rows are rendered from these). */
interface Measured {
  readonly commits: number;
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function measured(samples: readonly number[], opsPerSample: number): Measured {
  const s = summarize(samples);
  const totalSec = samples.reduce((a, b) => a + b, 0) / 1000;
  return { commits: samples.length, opsPerSec: (samples.length * opsPerSample) / totalSec, p50: s.p50, p99: s.p99, max: s.max };
}

/** A table row; `target` says which target the row is held to and whether it met it. */
function row(store: string, label: string, m: Measured, target = '-'): Row {
  return { store, case: label, commits: m.commits, 'ops/s': m.opsPerSec, 'p50 ms': m.p50, 'p99 ms': m.p99, 'max ms': m.max, target };
}

const verdict = (met: boolean): string => (met ? 'met' : 'missed');

/** Batches must reach this multiple of the single-write rate (writes per second). */
const BATCH_SPEEDUP_TARGET = 20;
/** SQLite: single writes within this factor of the raw better-sqlite3 rate. */
const SQLITE_CONTRACT_OVERHEAD_MAX = 1.5;
/** PostgreSQL: single-write p50 at most this much above a raw one-row commit's p50, ms. */
const POSTGRES_OVERHEAD_MS_MAX = 1;

function batchTarget(batch: Measured, single: Measured): string {
  const speedup = batch.opsPerSec / single.opsPerSec;
  return `>= ${BATCH_SPEEDUP_TARGET}x single writes/s: ${verdict(speedup >= BATCH_SPEEDUP_TARGET)} (${fmt(speedup)}x)`;
}

/** The three cases of the contract through `store`. */
async function measure(name: string, store: Storage): Promise<{ single: Measured; batch: Measured; claim: Measured }> {
  await store.claimPartition(PARTITION, 1, 'bench-node');
  const source = new WriteSource();
  const check = (results: { ok: boolean }[]): void => {
    if (!results.every((r) => r.ok)) throw new Error(`${name}: a benchmark write was refused`);
  };
  const single = await timed(SINGLE_WRITES, async () => check(await store.writeEntities(source.take(1))));
  const batched = await timed(BATCHES, async () => check(await store.writeEntities(source.take(BATCH_SIZE))));
  const claims = await timed(CLAIMS, async (i) => {
    await store.claimPartition(PARTITION + 1, i + 1, 'bench-node');
  });
  return { single: measured(single, 1), batch: measured(batched, BATCH_SIZE), claim: measured(claims, 1) };
}

/** The disk's own price: one upsert per commit through better-sqlite3, same pragmas, no fence. */
function rawSqlite(file: string): Measured {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE raw (id TEXT PRIMARY KEY, state BLOB NOT NULL, version INTEGER NOT NULL)');
    const upsert = db.prepare('INSERT INTO raw (id, state, version) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = version + 1');
    const state = Buffer.from(makeState(7));
    const samples: number[] = [];
    for (let i = 0; i < SINGLE_WRITES; i++) {
      const start = performance.now();
      upsert.run(`bench-${i % ENTITIES}`, state);
      samples.push(performance.now() - start);
    }
    return measured(samples, 1);
  } finally {
    db.close();
  }
}

async function sqliteRows(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-'));
  const store = await SqliteStorage.open({ path: path.join(dir, 'bench.sqlite') });
  try {
    const name = 'sqlite (WAL, synchronous=FULL)';
    const { single, batch, claim } = await measure(name, store);
    const raw = rawSqlite(path.join(dir, 'raw.sqlite'));
    const overhead = raw.opsPerSec / single.opsPerSec;
    return [
      row(name, 'single write per commit', single, `within ${SQLITE_CONTRACT_OVERHEAD_MAX}x of the baseline's ops/s: ${verdict(overhead <= SQLITE_CONTRACT_OVERHEAD_MAX)} (${fmt(overhead)}x)`),
      row(name, `batch of ${BATCH_SIZE} per commit`, batch, batchTarget(batch, single)),
      row(name, 'claim', claim),
      row('baseline: raw better-sqlite3, same pragmas', 'single upsert per commit', raw),
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The server's own price, on a pool opened with the store's resolved options (same URL,
 * schema and pool size; the store keeps its pool to itself): `SELECT 1` is the bare round
 * trip, and a one-row upsert in its own commit is a round trip plus the WAL flush.
 */
async function rawPostgres(url: string, schema: string): Promise<{ roundTrip: Measured; commit: Measured; rowwise: Measured }> {
  const resolved = resolvePostgresOptions({ url, schema });
  const pool = new pg.Pool({ connectionString: resolved.connectionString, max: resolved.poolSize, connectionTimeoutMillis: resolved.connectTimeoutMs, keepAlive: true });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_raw (id text PRIMARY KEY, state bytea NOT NULL, version bigint NOT NULL)');
    const state = Buffer.from(makeState(7));
    const roundTrip = await timed(SINGLE_WRITES, async () => {
      await pool.query('SELECT 1');
    });
    const commit = await timed(SINGLE_WRITES, async (i) => {
      await pool.query('INSERT INTO bench_raw (id, state, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = bench_raw.version + 1', [
        `bench-${i % ENTITIES}`,
        state,
      ]);
    });
    return { roundTrip: measured(roundTrip, 1), commit: measured(commit, 1), rowwise: await rowwiseBatches(pool) };
  } finally {
    await pool.end();
  }
}

/** Calls the write-by-write function (schema version 1), which the store keeps for batches naming an entity twice. */
const ROWWISE_SQL = `SELECT r.applied FROM flotilla_write_entities($1::integer[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bigint[]) AS r`;

/**
 * The store's batch case again, same sizes and states, through the write-by-write function:
 * each record is created first (untimed), as the store's batches find them.
 */
async function rowwiseBatches(pool: pg.Pool): Promise<Measured> {
  const source = new WriteSource('bench-rowwise');
  const call = async (writes: readonly EntityWrite[]): Promise<void> => {
    const result = await pool.query<{ applied: boolean }>(ROWWISE_SQL, [
      writes.map((w) => w.partition),
      writes.map((w) => w.epoch),
      writes.map((w) => w.writer),
      writes.map((w) => w.type),
      writes.map((w) => w.id),
      writes.map((w) => w.state ?? null),
      writes.map((w) => w.expectedVersion),
    ]);
    if (!result.rows.every((r) => r.applied)) throw new Error('postgres: a write-by-write benchmark write was refused');
  };
  for (let created = 0; created < ENTITIES; created += BATCH_SIZE) await call(source.take(BATCH_SIZE));
  return measured(await timed(BATCHES, async () => call(source.take(BATCH_SIZE))), BATCH_SIZE);
}

async function postgresRows(): Promise<Row[]> {
  const url = process.env.FLOTILLA_TEST_POSTGRES_URL;
  if (url === undefined || url === '') return [{ store: 'postgres', case: 'skipped: FLOTILLA_TEST_POSTGRES_URL is not set' }];
  const schema = `flo_bench_${process.pid}`;
  const store = await PostgresStorage.open({ url, schema });
  try {
    const name = 'postgres (local)';
    const { single, batch, claim } = await measure(name, store);
    const { roundTrip, commit, rowwise } = await rawPostgres(url, schema);
    const aboveMs = single.p50 - commit.p50;
    return [
      row(name, 'single write per commit', single, `p50 within ${POSTGRES_OVERHEAD_MS_MAX} ms of the raw commit's: ${verdict(aboveMs <= POSTGRES_OVERHEAD_MS_MAX)} (${aboveMs >= 0 ? '+' : ''}${fmt(aboveMs)} ms)`),
      row(name, `batch of ${BATCH_SIZE} per commit`, batch, batchTarget(batch, single)),
      row(name, 'claim', claim),
      row('baseline: raw pg, same pool options', 'one-row upsert per commit (round trip + WAL flush)', commit),
      row('baseline: raw pg, same pool options', '`SELECT 1` (bare round trip)', roundTrip),
      row('baseline: write-by-write function (schema 1)', `batch of ${BATCH_SIZE} per commit, same writes`, rowwise, `${fmt(rowwise.opsPerSec / single.opsPerSec)}x single writes/s`),
    ];
  } finally {
    await store.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

const common = `Each commit is awaited before the next starts (one writer), so p50 is what an
entity call pays to save its state, and ops/s for batches (writes per second) is what the
write batcher reaches under load. States are ${STATE_BYTES} bytes, cycling over ${ENTITIES} entities. A
claim is one fence upsert (ops/s: claims per second).`;

const sqliteNotes = `${common}

A commit is durable before it resolves (WAL, \`synchronous = FULL\`: one fsync of the WAL
per commit), so single-write latency is the disk's fsync time; the baseline row measures
that with better-sqlite3 alone, without fence or version checks, so the gap between the
first and last rows is the price of the contract. Batches pay one fsync for ${BATCH_SIZE} writes.
Targets (the \`target\` column says met or missed): single-write ops/s within
${SQLITE_CONTRACT_OVERHEAD_MAX}x of the baseline's; batches at least ${BATCH_SPEEDUP_TARGET}x the single-write rate.`;

const postgresNotes = `${common}

A batch is one function call (one round trip, one commit): its ${BATCH_SIZE} entities are distinct, so the
store calls \`flotilla_write_entities_distinct\`, which takes the locks and then checks and applies
the whole batch in one statement; the last row runs the same batches through
\`flotilla_write_entities\`, which runs three statements per write (the store keeps it for
batches naming an entity twice). A claim is one \`INSERT ... ON CONFLICT\` statement. Latency is a round trip plus the server's WAL
flush (\`synchronous_commit = on\`). The two baseline rows run on a \`pg.Pool\` opened with
the store's own resolved options (same URL, schema and pool size): \`SELECT 1\` is the bare
round trip, and a one-row upsert in its own commit is a round trip plus the WAL flush; the
difference between them is the server's flush. Targets (the \`target\` column says met or
missed): single-write p50 within ${POSTGRES_OVERHEAD_MS_MAX} ms of the raw one-row commit's (a bare round trip
plus flush) on a local server; batches at least ${BATCH_SPEEDUP_TARGET}x the single-write rate.`;

/** Storage write, batch and claim costs. */
export const suites: Suite[] = [
  { id: 'storage-sqlite', title: 'Storage: SQLite writes and claims', notes: sqliteNotes, run: sqliteRows },
  { id: 'storage-postgres', title: 'Storage: PostgreSQL writes and claims', notes: postgresNotes, run: postgresRows },
];
