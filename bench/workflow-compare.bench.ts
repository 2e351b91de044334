/**
 * Flotilla workflows against `@effect/workflow`, side by side in one run, both on SQLite
 * with `synchronous = FULL` (an fsync per commit): one 20-step workflow at a time, 100 at
 * once, and the start-to-result latency of a 1-step workflow. Beside them, the ceiling the
 * disk sets: SQLite FULL commits of one journal-sized row each, one at a time, which bounds
 * any workflow that journals each step in its own commit before running the next.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { pooled, startDurableBench, StepsWorkflow, timed } from './durable-nodes.js';
import { EFFECT_WORKFLOW_VERSIONS, startEffectWorkflows } from './effect-workflow.js';
import { fmt, summarize, type Row, type Suite } from './harness.js';

/** Scale of every count (`FLOTILLA_BENCH_DURABLE_SCALE`, default 1). */
const SCALE = Number(process.env.FLOTILLA_BENCH_DURABLE_SCALE ?? '1') || 1;
const n = (count: number): number => Math.max(1, Math.round(count * SCALE));

/** Steps of the compared workflow, and how many run one after the other. */
const STEPS = 20;
const SEQUENTIAL_RUNS = n(10);
/** Workflows started at once. */
const CONCURRENT = n(100);
/** 1-step workflows run in a row for the latency percentiles. */
const LATENCY_RUNS = n(200);
/** Raw commits timed for the disk's ceiling. */
const RAW_COMMITS = n(1_000);
/** The targets: steps/s one at a time and 100 at once, 10x Effect, 1-step p50 ms. */
const TARGET = { sequential: 1_500, concurrent: 2_000, ratio: 10, p50Ms: 2 };

/** One side's three figures. */
interface Figures {
  readonly sequential: number;
  readonly concurrent: number;
  readonly p50: number;
  readonly p99: number;
}

type Runner = (id: string, steps: number) => Promise<unknown>;

async function measure(side: string, run: Runner): Promise<Figures> {
  await run(`${side}-warm`, STEPS);
  const seqMs = await timed(async () => {
    for (let i = 0; i < SEQUENTIAL_RUNS; i++) await run(`${side}-seq-${i}`, STEPS);
  });
  const concMs = await timed(() => pooled(CONCURRENT, CONCURRENT, (i) => run(`${side}-conc-${i}`, STEPS)));
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const start = performance.now();
    await run(`${side}-lat-${i}`, 1);
    samples.push(performance.now() - start);
  }
  const lat = summarize(samples);
  return { sequential: (SEQUENTIAL_RUNS * STEPS) / (seqMs / 1000), concurrent: (CONCURRENT * STEPS) / (concMs / 1000), p50: lat.p50, p99: lat.p99 };
}

async function flotilla(): Promise<Figures> {
  const bench = await startDurableBench('sqlite');
  try {
    const wf = bench.node.workflows!;
    return await measure('flotilla', (id, steps) => wf.run(StepsWorkflow, id, { steps }));
  } finally {
    await bench.close();
  }
}

async function effect(): Promise<Figures> {
  const bench = await startEffectWorkflows();
  try {
    return await measure('effect', (id, steps) => bench.run(id, steps));
  } finally {
    await bench.close();
  }
}

/** SQLite WAL, synchronous FULL: commits of one journal-sized row, one at a time, per second. */
function rawCommitsPerSec(): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-fsync-'));
  const db = new Database(path.join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE journal (workflow TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, outcome BLOB NOT NULL, PRIMARY KEY (workflow, seq))');
    const insert = db.prepare('INSERT INTO journal (workflow, seq, name, outcome) VALUES (?, ?, ?, ?)');
    const commit = db.transaction((seq: number) => insert.run('raw', seq, `activity:s${seq}`, Buffer.alloc(16)));
    const start = performance.now();
    for (let i = 0; i < RAW_COMMITS; i++) commit(i);
    return RAW_COMMITS / ((performance.now() - start) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function verdict(met: boolean): string {
  return met ? 'met' : 'missed';
}

const compare: Suite = {
  id: 'durable-vs-effect-workflow',
  title: 'Workflows: Flotilla against @effect/workflow (SQLite, synchronous = FULL)',
  notes: [
    `Same run, same process, one side after the other; ${EFFECT_WORKFLOW_VERSIONS}. Both sides: one process, a fresh SQLite`,
    'file in WAL mode with `synchronous = FULL`, so every commit is on disk before it returns. The workflow: N activities,',
    'each returning its index. What each side journals per execution: Flotilla commits the execution row, one journal row',
    'per step (its result) and the result: N + 2 commits, concurrent workflows sharing transactions (group commit). Effect',
    'commits the run request, and per activity a request and its reply (the result) to the activity entity, with its',
    'storage poll marking requests read, then the reply of the run: several commits per step. The raw row is the disk: one',
    'SQLite FULL commit of one journal row at a time, no workflow at all, the ceiling of any engine that journals each step',
    'in its own commit before running the next (one workflow at a time cannot go faster than that many steps per second).',
    'The 2-core machine is shared with other jobs: the last row gives its 1-minute load average at the end of the run, and',
    'the fsync cost of this disk varies between machines and hours (the raw row), so compare the two sides within one run.',
  ].join('\n'),
  run: async () => {
    const raw = rawCommitsPerSec();
    const f = await flotilla();
    const e = await effect();
    const seqTarget = `>= ${fmt(TARGET.sequential)} steps/s: ${verdict(f.sequential >= TARGET.sequential)}; >= ${TARGET.ratio}x Effect: ${verdict(f.sequential >= TARGET.ratio * e.sequential)} (${fmt(f.sequential / e.sequential)}x); disk ceiling ${fmt(raw)}/s`;
    const concTarget = `>= ${fmt(TARGET.concurrent)} steps/s: ${verdict(f.concurrent >= TARGET.concurrent)}; >= ${TARGET.ratio}x Effect: ${verdict(f.concurrent >= TARGET.ratio * e.concurrent)} (${fmt(f.concurrent / e.concurrent)}x)`;
    const latTarget = `p50 < ${TARGET.p50Ms} ms: ${verdict(f.p50 < TARGET.p50Ms)} (${fmt(e.p50 / f.p50)}x faster than Effect)`;
    const rows: Row[] = [
      { workload: `1 workflow x ${STEPS} steps, ${SEQUENTIAL_RUNS} in a row (steps/s)`, flotilla: fmt(f.sequential), 'effect workflow': fmt(e.sequential), target: seqTarget },
      { workload: `${CONCURRENT} workflows at once x ${STEPS} steps (steps/s)`, flotilla: fmt(f.concurrent), 'effect workflow': fmt(e.concurrent), target: concTarget },
      { workload: `1-step workflow, start to result, ${LATENCY_RUNS} in a row (p50 / p99 ms)`, flotilla: `${fmt(f.p50)} / ${fmt(f.p99)}`, 'effect workflow': `${fmt(e.p50)} / ${fmt(e.p99)}`, target: latTarget },
      { workload: `disk ceiling: SQLite FULL commits of one journal row, one at a time (commits/s)`, flotilla: fmt(raw), 'effect workflow': fmt(raw), target: 'a step journaled in its own commit costs at least one of these' },
      { workload: 'load average (1 min) at the end of the run', flotilla: fmt(os.loadavg()[0]!), 'effect workflow': '', target: '' },
    ];
    return rows;
  },
};

export const suites: Suite[] = [compare];
