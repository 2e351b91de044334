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
import { summarize, type Row, type Suite } from './harness.js';

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

  take(count: number): EntityWrite[] {
    const writes: EntityWrite[] = [];
    for (let i = 0; i < count; i++) {
      const id = `bench-${this.next++ % ENTITIES}`;
      const expectedVersion = this.versions.get(id) ?? 0;
      this.versions.set(id, expectedVersion + 1);
      writes.push({ partition: PARTITION, epoch: 1, writer: 'bench-node', type: 'bench', id, state: this.state, expectedVersion });
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

function row(store: string, label: string, samples: number[], opsPerSample: number): Row {
  const s = summarize(samples);
  const totalSec = samples.reduce((a, b) => a + b, 0) / 1000;
  return { store, case: label, commits: samples.length, 'ops/s': (samples.length * opsPerSample) / totalSec, 'p50 ms': s.p50, 'p99 ms': s.p99, 'max ms': s.max };
}

async function measure(name: string, store: Storage): Promise<Row[]> {
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
  return [
    row(name, 'single write per commit', single, 1),
    row(name, `batch of ${BATCH_SIZE} per commit`, batched, BATCH_SIZE),
    row(name, 'claim', claims, 1),
  ];
}

/** The disk's own price: one upsert per commit through better-sqlite3, same pragmas, no fence. */
function rawSqliteRow(file: string): Row {
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
    return row('baseline: raw better-sqlite3, same pragmas', 'single upsert per commit', samples, 1);
  } finally {
    db.close();
  }
}

async function sqliteRows(): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-'));
  const store = await SqliteStorage.open({ path: path.join(dir, 'bench.sqlite') });
  try {
    return [...(await measure('sqlite (WAL, synchronous=FULL)', store)), rawSqliteRow(path.join(dir, 'raw.sqlite'))];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRows(): Promise<Row[]> {
  const url = process.env.FLOTILLA_TEST_POSTGRES_URL;
  if (url === undefined || url === '') return [{ store: 'postgres', case: 'skipped: FLOTILLA_TEST_POSTGRES_URL is not set' }];
  const schema = `flo_bench_${process.pid}`;
  const store = await PostgresStorage.open({ url, schema });
  try {
    return await measure('postgres (local)', store);
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
first and last rows is the price of the contract. Batches pay one fsync for 64 writes.
Target: the single-write row within 1.5x of the baseline; batches at least 20x the
single-write rate.`;

const postgresNotes = `${common}

A batch is one call of \`flotilla_write_entities\` (one round trip, one commit); a claim is
one \`INSERT ... ON CONFLICT\` statement. Latency is a round trip plus the server's WAL
flush (\`synchronous_commit = on\`). Target: single-write p50 within 1 ms of a bare
round trip plus flush on a local server; batches at least 20x the single-write rate.`;

/** Storage write, batch and claim costs. */
export const suites: Suite[] = [
  { id: 'storage-sqlite', title: 'Storage: SQLite writes and claims', notes: sqliteNotes, run: sqliteRows },
  { id: 'storage-postgres', title: 'Storage: PostgreSQL writes and claims', notes: postgresNotes, run: postgresRows },
];
