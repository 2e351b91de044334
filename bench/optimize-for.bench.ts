/**
 * What `--optimize-for` costs under load: three `flotilla start` processes per profile,
 * driven through the admin API's `PUT /kv/{key}` (routing, replication to the backup,
 * msgpack, TCP frames), measured from outside: the nodes' CPU time per write and the
 * writes per second. The idle side of the trade is the node-idle suite.
 */
import { performance } from 'node:perf_hooks';
import type { Row, Suite } from './harness.js';
import { assertRunnable, cpuTimeMs, killAll, nodeRunner, putKv, startCluster, statusBytes, waitSettled, type BenchNode } from './node-processes.js';
import { OPTIMIZE_FOR_CHOICES, OPTIMIZE_FOR_ENV, type OptimizeFor } from '../src/cli/v8-profile.js';

/** Processes per profile. */
const NODE_COUNT = 3;
/** Writes in flight per node. */
const CONCURRENCY_PER_NODE = 16;
/** Writes before the measured ones: V8 warms up (and `auto` sees the load). */
const WARMUP_WRITES = 4_000;
/** Measured writes. */
const MEASURED_WRITES = 20_000;
/** Distinct keys the writes cycle over. */
const KEY_COUNT = 5_000;
/** Value of each write: about 110 bytes of JSON text. */
const VALUE_PAD = 'x'.repeat(100);
const SETTLE_TIMEOUT_MS = 120_000;
const WRITE_TIMEOUT_MS = 5_000;
const MIB = 2 ** 20;

interface Round {
  readonly ok: number;
  readonly failed: number;
  readonly ms: number;
  readonly cpuMs: number;
}

/** `writes` PUTs spread over the nodes, `CONCURRENCY_PER_NODE` in flight per node. */
async function writeRound(nodes: readonly BenchNode[], writes: number, firstKey: number): Promise<Round> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const cpuBefore = nodes.map((n) => cpuTimeMs(n.pid));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY_PER_NODE * nodes.length }, async (_, worker) => {
      const node = nodes[worker % nodes.length]!;
      while (next < writes) {
        const i = firstKey + next++;
        const status = await putKv(node, `k${i % KEY_COUNT}`, `${i}-${VALUE_PAD}`, WRITE_TIMEOUT_MS);
        if (status >= 200 && status < 300) ok++;
        else failed++;
      }
    }),
  );
  const ms = performance.now() - started;
  const cpuMs = nodes.reduce((sum, n, i) => sum + cpuTimeMs(n.pid) - cpuBefore[i]!, 0);
  return { ok, failed, ms, cpuMs };
}

async function runProfile(profile: OptimizeFor): Promise<Row> {
  const runner = nodeRunner();
  assertRunnable(runner);
  const spawned: BenchNode[] = [];
  const previous = process.env[OPTIMIZE_FOR_ENV];
  // The nodes inherit this process's environment.
  process.env[OPTIMIZE_FOR_ENV] = profile;
  try {
    const nodes = await startCluster(runner, Array.from({ length: NODE_COUNT }, (_, i) => `o${i + 1}`), spawned);
    await waitSettled(nodes, SETTLE_TIMEOUT_MS);
    const idleRss = nodes.map((n) => statusBytes(n.pid, 'VmRSS'));
    await writeRound(nodes, WARMUP_WRITES, 0);
    const round = await writeRound(nodes, MEASURED_WRITES, WARMUP_WRITES);
    const loadedRss = nodes.map((n) => statusBytes(n.pid, 'VmRSS'));
    const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length / MIB;
    return {
      profile,
      'writes measured': round.ok + round.failed,
      'not 2xx': round.failed,
      'writes/s': (round.ok * 1000) / round.ms,
      'node CPU per write (µs, 3 nodes summed)': (round.cpuMs * 1000) / (round.ok + round.failed),
      'RSS settled, before load (MiB, mean)': mean(idleRss),
      'RSS after load (MiB, mean)': mean(loadedRss),
    };
  } finally {
    if (previous === undefined) delete process.env.FLOTILLA_OPTIMIZE_FOR;
    else process.env[OPTIMIZE_FOR_ENV] = previous;
    await killAll(spawned);
  }
}

/** The load suite, one row per profile. */
export const suites: Suite[] = [
  {
    id: 'node-optimize-for',
    title: `Node: --optimize-for under load (${NODE_COUNT} processes per profile)`,
    notes: [
      `${NODE_COUNT} \`flotilla start\` processes (the build, admin API on) per profile, one profile after the other. Once the cluster settled,`,
      `${CONCURRENCY_PER_NODE * NODE_COUNT} concurrent \`PUT /kv/{key}\` requests (${CONCURRENCY_PER_NODE} per node, about 110-byte values over ${KEY_COUNT} keys) write`,
      `${WARMUP_WRITES} values to warm up, then ${MEASURED_WRITES} measured ones. CPU is the nodes' utime + stime over the measured writes (from \`/proc\`),`,
      'summed over the three nodes, per write; the load generator shares the machine\'s two cores, so writes/s is a floor, CPU per write',
      'the figure to compare. RSS is VmRSS right after settling (30 s or so after start, before the young generation shrinks, so higher',
      'than the node-idle figures) and after the load. `not 2xx` are requests that got no HTTP answer at all (a check run saw only',
      'fetch errors, status 0: connection errors and 5 s timeouts), 2-3% in every profile; they count in CPU per write, not in writes/s.',
      '',
      '`memory` never optimizes; `speed` is V8\'s defaults; `auto` (the default) starts as `memory` and turns the optimizing compilers',
      'on once the event loop was busy a quarter of the time over a minute, so part of its measured writes ran before or during that switch.',
      'An earlier run the same day (when `auto` switched after 15 s) measured 648 µs per write for `speed` and 1,541 for `memory` (2.4 times;',
      '2.7 times below), and 688 for `auto`.',
    ].join('\n'),
    run: async () => {
      const rows: Row[] = [];
      for (const profile of ['speed', 'memory', 'auto'] as const satisfies readonly (typeof OPTIMIZE_FOR_CHOICES)[number][]) rows.push(await runProfile(profile));
      return rows;
    },
  },
];
