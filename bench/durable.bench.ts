/**
 * Durable-execution benchmarks: workflow steps per second (each step a journaled
 * activity, one commit) on SQLite and PostgreSQL, one workflow at a time and 1,000 at
 * once; the start-to-result latency of a 1-step workflow; and durable timers: 100,000
 * scheduled (memory held while pending, firing lag), and the lag of timers on an idle node.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fmt, summarize, type Row, type Suite } from './harness.js';
import { pooled, SleepyWorkflow, sleepers, startDurableBench, StepsWorkflow, timed, timerLags, type DurableBenchStorage } from './durable-nodes.js';
import { postgresUrl } from './entities-nodes.js';
import { storageFiringsPerSec } from './durable-firings.js';

/** Scale of every count (`FLOTILLA_BENCH_DURABLE_SCALE`, default 1). */
const SCALE = Number(process.env.FLOTILLA_BENCH_DURABLE_SCALE ?? '1') || 1;
const n = (count: number): number => Math.max(1, Math.round(count * SCALE));

/** Steps of the one-at-a-time workflow. */
const SEQUENTIAL_STEPS = n(2_000);
/** Workflows started at once, and their steps each. */
const CONCURRENT_WORKFLOWS = n(1_000);
const CONCURRENT_STEPS = 5;
/** 1-step workflows run one after the other for the latency percentiles. */
const LATENCY_RUNS = n(500);
/** The p50 the issue asks of a 1-step workflow, start to result, ms. */
const LATENCY_TARGET_MS = 2;
/** Timers scheduled, how many schedule calls fly at once, and the span their due times cover. */
const TIMERS = n(100_000);
const SCHEDULE_IN_FLIGHT = 512;
const TIMER_SPAN_MS = 60_000;
/** Lag target of a timer, ms. */
const LAG_TARGET_MS = 50;
/** Timers of the idle-node lag measurement, and the gap between their due times. */
const IDLE_TIMERS = n(200);
const IDLE_GAP_MS = 25;
/** Timers fired straight on the store, for the storage-level firing rate. */
const STORAGE_FIRINGS = n(20_000);
/** Workflows asleep until one instant, woken in a burst. */
const SLEEPERS = n(2_000);

async function workflowRows(kind: DurableBenchStorage): Promise<Row[]> {
  const bench = await startDurableBench(kind);
  try {
    const wf = bench.node.workflows!;
    const seqMs = await timed(() => wf.run(StepsWorkflow, `seq-${kind}`, { steps: SEQUENTIAL_STEPS }));
    const before = { ...(bench.node.durable!.commitStats() ?? { commits: 0, batches: 0 }) };
    const concMs = await timed(() => pooled(CONCURRENT_WORKFLOWS, CONCURRENT_WORKFLOWS, (i) => wf.run(StepsWorkflow, `conc-${kind}-${i}`, { steps: CONCURRENT_STEPS })));
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const start = performance.now();
      await wf.run(StepsWorkflow, `lat-${kind}-${i}`, { steps: 1 });
      samples.push(performance.now() - start);
    }
    const lat = summarize(samples);
    const after = bench.node.durable!.commitStats() ?? { commits: 0, batches: 0 };
    const perTransaction = (after.commits - before.commits) / Math.max(1, after.batches - before.batches);
    const loadNow = load();
    return [
      { storage: kind, workload: `1 workflow x ${SEQUENTIAL_STEPS} steps`, 'steps/s': fmt(SEQUENTIAL_STEPS / (seqMs / 1000)), 'p50 / p99 ms': '', load: loadNow, target: '' },
      { storage: kind, workload: `${CONCURRENT_WORKFLOWS} workflows at once x ${CONCURRENT_STEPS} steps`, 'steps/s': fmt((CONCURRENT_WORKFLOWS * CONCURRENT_STEPS) / (concMs / 1000)), 'p50 / p99 ms': '', load: loadNow, target: `commits per transaction: ${fmt(perTransaction)}` },
      {
        storage: kind,
        workload: `1-step workflow, start to result (${LATENCY_RUNS} in a row)`,
        'steps/s': '',
        'p50 / p99 ms': `${fmt(lat.p50)} / ${fmt(lat.p99)}`,
        load: loadNow,
        target: `p50 < ${LATENCY_TARGET_MS} ms: ${lat.p50 < LATENCY_TARGET_MS ? 'met' : 'missed'}`,
      },
    ];
  } finally {
    await bench.close();
  }
}

const workflows: Suite = {
  id: 'durable-workflows',
  title: 'Workflows: journaled steps per second and 1-step latency',
  notes: [
    'One node owning every partition; each step is one activity whose result is journaled in its own commit (group commit',
    'shares a transaction between concurrent workflows). `sqlite`: `synchronous = FULL` (an fsync per commit);',
    '`sqlite-normal`: `synchronous = NORMAL`; `postgres`: local PostgreSQL 15 with fsync on. Latency is measured from',
    '`workflows.run` to its result, through the routing layer, one run at a time. The 2 ms target assumes a commit',
    'cheaper than an fsync: it is met with `synchronous = NORMAL`, not with an fsync per commit (three commits: creation,',
    'step, completion). The 2-core machine is shared with other jobs: `load` is its 1-minute load average after each',
    'storage\'s rows. The Effect comparison at the same durability is the next section.',
  ].join('\n'),
  run: async () => {
    const kinds: DurableBenchStorage[] = ['sqlite', 'sqlite-normal', ...(postgresUrl() === undefined ? [] : (['postgres'] as const))];
    const rows: Row[] = [];
    for (const kind of kinds) rows.push(...(await workflowRows(kind)));
    if (postgresUrl() === undefined) rows.push({ storage: 'postgres', workload: 'skipped: FLOTILLA_TEST_POSTGRES_URL unset', 'steps/s': '', 'p50 / p99 ms': '', load: '', target: '' });
    return rows;
  },
};

/** The machine's 1-minute load average now: the machine is shared, so each timer row carries it. */
function load(): string {
  return fmt(os.loadavg()[0]!);
}

function mib(bytes: number): string {
  return `${fmt(bytes / (1024 * 1024))} MiB`;
}

/**
 * SLEEPERS workflows asleep until one instant: how long after it each finished (its wake
 * firing, its replay, its completion commit), and how long the whole burst took.
 */
export async function wakeBurstRow(kind: DurableBenchStorage): Promise<Row> {
  const bench = await startDurableBench(kind);
  try {
    const wf = bench.node.workflows!;
    sleepers.arrived = 0;
    // Starting them all must end before they are due: a margin well above the start rate seen on this machine.
    const wakeAt = Date.now() + 5_000 + SLEEPERS * 5;
    const lags: number[] = [];
    const runs = Array.from({ length: SLEEPERS }, (_, i) => wf.run(SleepyWorkflow, `sleepy-${kind}-${i}`, { wakeAt }).then(() => lags.push(Date.now() - wakeAt)));
    while (sleepers.arrived < SLEEPERS) await new Promise((resolve) => setTimeout(resolve, 10));
    const allAsleepBy = Date.now();
    await Promise.all(runs);
    const lag = summarize(lags);
    const loadNow = load();
    const overran = allAsleepBy > wakeAt ? `; starts overran the due time by ${allAsleepBy - wakeAt} ms` : '';
    return {
      storage: kind,
      case: `${SLEEPERS} workflows asleep until one instant: wake firing, replay and completion of each, after that instant`,
      'lag p50 / p99 / max ms': `${fmt(lag.p50)} / ${fmt(lag.p99)} / ${fmt(lag.max)}`,
      memory: '',
      load: loadNow,
      target: `burst: ${fmt(SLEEPERS / (Math.max(1, lag.max) / 1000))} workflows/s${overran}`,
    };
  } finally {
    await bench.close();
  }
}

async function timerRows(kind: DurableBenchStorage): Promise<Row[]> {
  const bench = await startDurableBench(kind);
  try {
    const timers = bench.node.timers!;
    // Idle node: one timer at a time, each due IDLE_GAP_MS after it was scheduled. The first
    // timer of a fresh node (connections, statements) is timed apart, as is each schedule call:
    // a timer whose schedule commit took longer than its delay cannot fire on time.
    const coldStart = performance.now();
    await timers.schedule({ id: 'idle-cold', delayMs: IDLE_GAP_MS, kind: 'bench.lag' });
    const coldScheduleMs = performance.now() - coldStart;
    while (timerLags.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    timerLags.length = 0;
    const idleScheduleMs: number[] = [];
    for (let i = 0; i < IDLE_TIMERS; i++) {
      const start = performance.now();
      await timers.schedule({ id: `idle-${i}`, delayMs: IDLE_GAP_MS, kind: 'bench.lag' });
      idleScheduleMs.push(performance.now() - start);
      while (timerLags.length <= i) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const idle = summarize(timerLags);
    const idleSchedule = summarize(idleScheduleMs);
    const ackedLate = idleScheduleMs.filter((ms) => ms > IDLE_GAP_MS).length;
    const idleLoad = load();
    // 100,000 pending: memory while they wait, then the lag as they fire over TIMER_SPAN_MS.
    timerLags.length = 0;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    // Due times start once scheduling is surely over: the rate of a first tenth says when.
    const probe = Math.ceil(TIMERS / 10);
    const probeMs = await timed(() => pooled(probe, SCHEDULE_IN_FLIGHT, (i) => timers.schedule({ id: `t-${i}`, dueAt: Date.now() + 3_600_000, kind: 'bench.lag' })));
    const firstDue = Date.now() + Math.ceil(((TIMERS - probe) * probeMs) / probe) * 2 + 5_000;
    const dueOf = (i: number): number => firstDue + Math.floor((i * TIMER_SPAN_MS) / TIMERS);
    const restMs = await timed(() => pooled(TIMERS, SCHEDULE_IN_FLIGHT, (i) => timers.schedule({ id: `t-${i}`, dueAt: dueOf(i), kind: 'bench.lag' })));
    const scheduleMs = probeMs + restMs;
    global.gc?.();
    const heapPending = process.memoryUsage().heapUsed;
    const windowSize = bench.node.durable!.timers.windowSize();
    while (timerLags.length < TIMERS) await new Promise((resolve) => setTimeout(resolve, 50));
    const many = summarize(timerLags);
    const manyLoad = load();
    const lateOver = timerLags.filter((l) => l > LAG_TARGET_MS).length;
    const needed = TIMERS / (TIMER_SPAN_MS / 1000);
    const storageRate = await storageFiringsPerSec(kind === 'postgres' ? 'postgres' : 'sqlite', STORAGE_FIRINGS);
    const storageLoad = load();
    const storageWakeRate = await storageFiringsPerSec(kind === 'postgres' ? 'postgres' : 'sqlite', STORAGE_FIRINGS, 'wake');
    const storageWakeLoad = load();
    return [
      {
        storage: kind,
        case: `store alone: ${STORAGE_FIRINGS} firings (one commit each, commitDurable calls of 256), firings/s`,
        'lag p50 / p99 / max ms': fmt(storageRate),
        memory: '',
        load: storageLoad,
        target: `${fmt(needed)}/s (${TIMERS} due over ${TIMER_SPAN_MS / 1000} s): ${storageRate >= needed ? 'met' : 'missed'}`,
      },
      {
        storage: kind,
        case: `store alone: ${STORAGE_FIRINGS} workflow wake-ups (timer removal, workflow running, sleep journaled; calls of 256), firings/s`,
        'lag p50 / p99 / max ms': fmt(storageWakeRate),
        memory: '',
        load: storageWakeLoad,
        target: '',
      },
      {
        storage: kind,
        case: `idle node: ${IDLE_TIMERS} timers one at a time, each due ${IDLE_GAP_MS} ms after its scheduling (schedule call p50 / p99 / max ${fmt(idleSchedule.p50)} / ${fmt(idleSchedule.p99)} / ${fmt(idleSchedule.max)} ms, ${ackedLate} acknowledged after their due time; a fresh node's first schedule ${fmt(coldScheduleMs)} ms, not counted)`,
        'lag p50 / p99 / max ms': `${fmt(idle.p50)} / ${fmt(idle.p99)} / ${fmt(idle.max)}`,
        memory: '',
        load: idleLoad,
        target: `within ${LAG_TARGET_MS} ms: ${idle.p99 <= LAG_TARGET_MS ? 'met' : 'missed'} (p99)`,
      },
      {
        storage: kind,
        case: `${TIMERS} scheduled (${fmt((TIMERS + probe) / (scheduleMs / 1000))} schedule calls/s), due over ${TIMER_SPAN_MS / 1000} s`,
        'lag p50 / p99 / max ms': `${fmt(many.p50)} / ${fmt(many.p99)} / ${fmt(many.max)}`,
        memory: `heap ${heapPending >= heapBefore ? '+' : ''}${mib(heapPending - heapBefore)} while pending; ${windowSize} timers in memory`,
        load: manyLoad,
        target: `within ${LAG_TARGET_MS} ms: ${many.p99 <= LAG_TARGET_MS ? 'met' : 'missed'} (p99; ${lateOver} later than that)`,
      },
    ];
  } finally {
    await bench.close();
  }
}

const timersSuite: Suite = {
  id: 'durable-timers',
  title: 'Durable timers: firing lag and memory',
  notes: [
    'One node owning every partition. Lag is the firing commit’s completion time minus the due time. The node keeps',
    'only the nearest timers in memory (`durable.timerWindowMax`, 1,024); heap is measured with `--expose-gc` when',
    'available (otherwise it includes garbage). The machine (2 cores) is shared with other jobs: `load` is its 1-minute',
    'load average at the end of each measurement, and the p99s move with it. *Store alone* applies the firing commits',
    'straight to a fresh store (no node), in calls of 256 as the timer service sends them: on PostgreSQL a run of',
    'firings that only delete their timer costs two statements per call (lock the rows, delete them), and a run of',
    'workflow wake-ups (the timer removed, the workflow set running, the sleep journaled) a fixed handful of statements',
    'instead of a savepoint and three statements per wake-up. Measured on 2026-12-06 in separate runs of the code',
    'without that change (before) and with it (after), load at the end of each: PostgreSQL store alone, wake-ups/s,',
    'before 1,481 (load 6.3), 2,387 (8.7), 2,985 (2.4); after 9,159 (9.4), 9,809 (7.2), 6,550 (4.8). 2,000 workflows',
    'asleep until one instant, ms until the last finished, before / after in alternated runs: 1,833 / 2,390 (load 2.8',
    '/ 2.8), 3,667 / 2,371 (6.9 / 6.3), 6,203 / 2,299 (7.3 / 7.9), 4,038 / 1,732 (7.7 / 7.9). Under load the burst',
    'gains; at light load it is bound by the rest of each wake-up (the firing reads its workflow, the replay reads it',
    'again, the completion is its own commit) and that pair was not faster. SQLite applies wake-ups commit by commit as',
    'before (in-process calls, no round trips): its burst row is bound by fsyncs and varied from 399 ms (load 8.6) to',
    '1,021 ms (load 5.7) between runs of the same code.',
    'The 100,000-timer row on SQLite: its late timers came from single commits that took 50 to 170 ms (an fsync or a',
    'WAL checkpoint inside the commit), which stall the whole event loop because the SQLite driver is synchronous; the',
    'window reloads (97 reads of 1,024 rows) took 3 to 5 ms each and are not the cause. Checkpoints now run on a worker',
    'thread with its own connection (docs/storage.md), and a woken workflow replays from what its wake commit stored',
    'instead of reading itself again. Alternated runs on 2026-12-06 (AMD EPYC, 2 cores, shared), SQLite, 100,000 timers:',
    'p99 / max ms (timers later than 50 ms; load), before 53 / 188 (1,095; 4.8), 37 / 157 (635; 4.5), 19 / 83 (98; 3.1);',
    'after 13 / 75 (55; 3.3, checkpoint worker only), 23 / 108 (289; 2.7), 10 / 63 (63; 2.6). The after runs met the',
    'target each time, but they also ran at lower load, so the gain is not separated from the load; single commits over',
    '50 ms (fsyncs with `synchronous = FULL`) remain, and a p99 under 50 ms at loads of 5 and above is not shown. The burst of 2,000',
    'workflows, ms until the last finished: before 541 (4.6), 304 (3.7), 413 (3.3); after 733 (4.1, checkpoint',
    'worker only), 274 (2.2), 385 (2.2): no clear change. Earlier runs: the 50 ms p99 target was met on PostgreSQL at',
    'loads 3.0 and 4.9 and missed at 7 to 10 (p99 161 ms).',
    'When the idle-node row on PostgreSQL missed (p99 76 ms, an earlier run on a loaded machine), its late timers were those whose schedule call itself took longer than the 25 ms',
    'delay (the server\'s COMMIT took 50 to 80 ms at those moments, logged with `log_min_duration_statement`, while a',
    'checkpoint ran on a loaded machine): a timer cannot fire before its row is committed. The case column gives the',
    'schedule calls\' latency and how many were acknowledged after their due time. A fresh node\'s first timer pays',
    'for opening connections (600 to 750 ms on PostgreSQL) and is left out of the row.',
  ].join('\n'),
  run: async () => {
    const kinds: DurableBenchStorage[] = ['sqlite', ...(postgresUrl() === undefined ? [] : (['postgres'] as const))];
    const rows: Row[] = [];
    for (const kind of kinds) rows.push(...(await timerRows(kind)), await wakeBurstRow(kind));
    return rows;
  },
};

export const suites: Suite[] = [workflows, timersSuite];
