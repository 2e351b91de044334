/**
 * The cost of an idle cluster: ten `flotilla start` processes on 127.0.0.1 with the admin
 * API on, measured from outside (`/proc` for CPU and memory, `/metrics` for heap and
 * frames) over a window in which nobody talks to them. A node that idles should cost
 * next to nothing, so a host can run many.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fmt, type Row, type Suite } from './harness.js';
import {
  assertRunnable,
  cpuTimeMs,
  getJson,
  getMetrics,
  killAll,
  metricSum,
  nodeRunner,
  sleep,
  startCluster,
  statusBytes,
  waitSettled,
  type BenchNode,
} from './node-processes.js';
import type { MembersReport } from '../src/gateway/admin-source.js';

/** Processes of the idle cluster. */
const IDLE_NODE_COUNT = 10;
/** Longest wait for the cluster to settle (formed, table agreed, no migration), ms. */
const SETTLE_TIMEOUT_MS = 120_000;
/**
 * How long the cluster runs after settling before the window, ms
 * (`FLOTILLA_BENCH_IDLE_SETTLE_MS`). The join and the partition migrations grow V8's young
 * generation to 16 MiB; at idle allocation rates (tens of KB/s) its next scavenge, which
 * shrinks it back, comes one to three minutes later. Thirty seconds measured that
 * transient (about 82 MiB RSS), not the idle node (about 67 MiB).
 */
const IDLE_SETTLE_MS = envMs('FLOTILLA_BENCH_IDLE_SETTLE_MS', 150_000);
/** The measurement window, ms (`FLOTILLA_BENCH_IDLE_WINDOW_MS`; shorter only for smoke runs). */
const IDLE_WINDOW_MS = envMs('FLOTILLA_BENCH_IDLE_WINDOW_MS', 30_000);
/** Target: median CPU of one process, % of one core. */
const CPU_PERCENT_TARGET = 0.5;
/** Target: median resident set of one process, MiB. */
const RSS_MIB_TARGET = 50;
/** `/proc/<pid>/stat` counts CPU time in ticks of this many ms (USER_HZ 100). */
const CPU_TICK_MS = 10;
const MIB = 2 ** 20;

function envMs(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** One node's readings over the idle window. */
interface IdleReading {
  readonly name: string;
  readonly role: string;
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  /** Proportional set size: shared pages (the `node` binary, libraries) split among their users. */
  readonly pssBytes: number;
  /** Anonymous memory this process alone holds (heap, stacks, malloc): what another node adds. */
  readonly privateBytes: number;
  readonly heapUsedBytes: number | undefined;
  readonly framesOutPerSec: number | undefined;
  readonly framesInPerSec: number | undefined;
  /** Whether `--optimize-for auto` turned V8's optimizing compilers on (the node logged it). */
  readonly optimizing: boolean;
}

/** The line a node logs when `--optimize-for auto` turns V8's optimizing compilers on. */
const OPTIMIZING_LOG = 'V8 optimizing compilers on';

/** Frames (datagrams and TCP frames) per direction so far, and the heap, from `/metrics`. */
async function counters(node: BenchNode): Promise<{ out: number | undefined; in: number | undefined; heap: number | undefined; at: number }> {
  const text = await getMetrics(node);
  const at = performance.now();
  if (text === undefined) return { out: undefined, in: undefined, heap: undefined, at };
  const frames = (direction: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith('flotilla_transport_frames_total{') && l.includes(`direction="${direction}"`))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { out: frames('out'), in: frames('in'), heap: metricSum(text, 'nodejs_heap_size_used_bytes'), at };
}

const perSecond = (after: number | undefined, before: number | undefined, ms: number): number | undefined =>
  after === undefined || before === undefined ? undefined : ((after - before) * 1000) / ms;

/** Reads every node's CPU (from /proc, no admin request inside the window) and memory. */
async function measureIdle(nodes: readonly BenchNode[], master: string): Promise<IdleReading[]> {
  const before = await Promise.all(nodes.map((n) => counters(n)));
  const cpuBefore = nodes.map((n) => cpuTimeMs(n.pid));
  const start = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const cpuAfter = nodes.map((n) => cpuTimeMs(n.pid));
  const elapsedMs = performance.now() - start;
  const memory = nodes.map((n) => ({ rss: statusBytes(n.pid, 'VmRSS'), peak: statusBytes(n.pid, 'VmHWM'), ...sharing(n.pid) }));
  const after = await Promise.all(nodes.map((n) => counters(n)));
  return nodes.map((node, i) => {
    const b = before[i]!;
    const a = after[i]!;
    return {
      name: node.name,
      role: node.name === master ? 'master' : 'member',
      cpuPercent: ((cpuAfter[i]! - cpuBefore[i]!) * 100) / elapsedMs,
      rssBytes: memory[i]!.rss,
      peakRssBytes: memory[i]!.peak,
      pssBytes: memory[i]!.pss,
      privateBytes: memory[i]!.private,
      heapUsedBytes: a.heap,
      framesOutPerSec: perSecond(a.out, b.out, a.at - b.at),
      framesInPerSec: perSecond(a.in, b.in, a.at - b.at),
      optimizing: node.lines.some((line) => line.includes(OPTIMIZING_LOG)),
    };
  });
}

/** PSS and private dirty memory of a process, bytes, from `/proc/<pid>/smaps_rollup`. */
function sharing(pid: number): { pss: number; private: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { pss: field('Pss'), private: field('Private_Dirty') };
}

/** Median of the defined values; undefined when there are none. */
function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const mib = (bytes: number | undefined): number | string => (bytes === undefined ? 'n/a' : bytes / MIB);

type Nullable<T> = { [K in keyof T]: T[K] | undefined };

function idleRow(r: Pick<IdleReading, 'name' | 'role'> & Nullable<Omit<IdleReading, 'name' | 'role' | 'optimizing'>>, optimizing: string, target: string): Row {
  return {
    node: r.name,
    role: r.role,
    'CPU (% of one core)': r.cpuPercent ?? 'n/a',
    'RSS (MiB)': mib(r.rssBytes),
    'peak RSS (MiB)': mib(r.peakRssBytes),
    'PSS (MiB)': mib(r.pssBytes),
    'private (MiB)': mib(r.privateBytes),
    'heap used (MiB)': mib(r.heapUsedBytes),
    'frames sent /s': r.framesOutPerSec ?? 'n/a',
    'frames received /s': r.framesInPerSec ?? 'n/a',
    'V8 compilers on': optimizing,
    target,
  };
}

/** The median row, with the verdict on both targets. */
function medianRow(readings: readonly IdleReading[]): Row {
  const cpu = median(readings.map((r) => r.cpuPercent));
  const rss = median(readings.map((r) => r.rssBytes));
  const verdict = (ok: boolean): string => (ok ? 'met' : 'missed');
  const target = [
    `CPU < ${CPU_PERCENT_TARGET}%: ${cpu === undefined ? 'n/a' : verdict(cpu < CPU_PERCENT_TARGET)}`,
    `RSS < ${RSS_MIB_TARGET} MiB: ${rss === undefined ? 'n/a' : verdict(rss / MIB < RSS_MIB_TARGET)}`,
  ].join('; ');
  return idleRow(
    {
      name: 'median',
      role: '',
      cpuPercent: cpu,
      rssBytes: rss,
      peakRssBytes: median(readings.map((r) => r.peakRssBytes)),
      pssBytes: median(readings.map((r) => r.pssBytes)),
      privateBytes: median(readings.map((r) => r.privateBytes)),
      heapUsedBytes: median(readings.map((r) => r.heapUsedBytes)),
      framesOutPerSec: median(readings.map((r) => r.framesOutPerSec)),
      framesInPerSec: median(readings.map((r) => r.framesInPerSec)),
    },
    `${readings.filter((r) => r.optimizing).length} of ${readings.length}`,
    target,
  );
}

/** Starts the idle cluster, lets it settle, and reads each node's CPU and memory. */
async function runIdle(): Promise<Row[]> {
  const runner = nodeRunner();
  assertRunnable(runner);
  const spawned: BenchNode[] = [];
  const began = performance.now();
  const names = Array.from({ length: IDLE_NODE_COUNT }, (_, i) => `n${i + 1}`);
  try {
    // The lean profile is what the memory target asks of a node; `FLOTILLA_OPTIMIZE_FOR` picks another.
    const nodes = await startCluster(runner, names, spawned, undefined, { FLOTILLA_OPTIMIZE_FOR: process.env.FLOTILLA_OPTIMIZE_FOR ?? 'auto' });
    await waitSettled(nodes, SETTLE_TIMEOUT_MS);
    await sleep(IDLE_SETTLE_MS);
    const master = (await getJson<MembersReport>(nodes[0]!, '/cluster/members'))?.master ?? '';
    const readings = await measureIdle(nodes, master);
    return [...readings.map((r) => idleRow(r, r.optimizing ? 'yes' : 'no', '')), medianRow(readings)];
  } finally {
    await killAll(spawned);
    console.log(`  idle suite took ${((performance.now() - began) / 1000).toFixed(0)} s`);
  }
}

const RUNNER_NOTE =
  nodeRunner() === 'dist'
    ? 'Each node is `node dist/cli/flotilla.js start ...`: the bundled build, as an installed package runs (run `npm run build` first; `FLOTILLA_BENCH_RUNNER=modules` runs tsc\'s one-file-per-module build, `FLOTILLA_BENCH_RUNNER=tsx` the sources, whose transpiler adds memory of its own).'
    : nodeRunner() === 'modules'
      ? 'Each node is `node dist/src/cli/main.js start ...` (`FLOTILLA_BENCH_RUNNER=modules`): the build as tsc emits it, one file per module, without the bundle.'
      : 'Each node is `node --import tsx src/cli/main.ts start ...` (`FLOTILLA_BENCH_RUNNER=tsx`): the sources, transpiled at start, so memory includes the transpiler; the build gives the figures that count.';

/** The idle cluster suite. */
export const suites: Suite[] = [
  {
    id: 'node-idle',
    title: `Node: idle cluster cost (${IDLE_NODE_COUNT} processes, default settings)`,
    notes: [
      `${IDLE_NODE_COUNT} \`flotilla start\` processes on 127.0.0.1 with the default settings (SWIM, 271 partitions, one backup) and the admin API on. ${RUNNER_NOTE}`,
      `After the cluster settled (views agree, partitions assigned, no migration) it idles ${IDLE_SETTLE_MS / 1000} s more; then, over a ${IDLE_WINDOW_MS / 1000} s window with no admin API request:`,
      `CPU from \`/proc/<pid>/stat\` (utime + stime delta, as % of one core; ${CPU_TICK_MS} ms ticks over the window give a resolution of ${fmt((CPU_TICK_MS * 100) / IDLE_WINDOW_MS)} %),`,
      'RSS and peak RSS from `/proc/<pid>/status` (VmRSS, VmHWM) at the end of the window, PSS and private (`Private_Dirty`)',
      'from `/proc/<pid>/smaps_rollup`, heap used from `/metrics`',
      '(`nodejs_heap_size_used_bytes`), and datagrams plus TCP frames per second from `/metrics`',
      '(`flotilla_transport_frames_total`, read just before and after the window, so each scrape is outside it).',
      '',
      `**Target:** per process, median under ${CPU_PERCENT_TARGET}% of one core and under ${RSS_MIB_TARGET} MiB RSS; the median row says met or missed.`,
      'RSS counts every page a process touches, shared or not: bare `node` idling in a timer holds about 40 MiB RSS on',
      'this machine, most of it the `node` executable\'s own pages, which the ten processes share. PSS splits shared',
      'pages among their users and *private* is the memory one more node adds; both are shown beside RSS for that reason.',
      'The target is on RSS.',
      '',
      '**`--optimize-for`**: with V8\'s defaults (`FLOTILLA_OPTIMIZE_FOR=speed`, the default) nodes hold 6-9 MiB more than lean',
      '(below). The table runs `--optimize-for auto` (the bench sets `FLOTILLA_OPTIMIZE_FOR=auto` unless told otherwise): lean V8',
      'at idle. The `V8 compilers on` column says which nodes `auto` switched to V8\'s defaults (it logs that); at idle none should.',
      '',
      '**The bundled bin** (`dist/cli/flotilla.js`, esbuild) against tsc\'s one file per module (`FLOTILLA_BENCH_RUNNER=modules`),',
      'medians of this bench, one session, runs alternated (MiB; median CPU 0.23-0.30% in every run):',
      '',
      '| build | profile | runs | RSS | peak RSS | PSS | private | heap used |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      '| modules (before) | auto | 3 | 59.2, 58.8, 59.1 | 63.3-64.2 | 20.7-21.3 | 19.8-20.1 | 14.3-14.7 |',
      '| bundle, Fastify left out | auto | 2 | 57.3, 57.0 | 59.2-59.7 | 18.6-19.2 | 17.8-18.0 | 12.4-12.6 |',
      '| bundle, Fastify in (adopted) | auto | 2 | 56.1, 55.8 | 59.7 | 18.0-18.4 | 16.7-17.0 | 11.3-11.7 |',
      '| modules (before) | speed | 2 | 67.0, 67.8 | 82.0-82.5 | 25.2-26.3 | 24.1-24.9 | 14.5-14.6 |',
      '| bundle, Fastify left out | speed | 1 | 65.5 | 78.9 | 23.7 | 22.5 | 12.4 |',
      '| bundle, Fastify in (adopted) | speed | 2 | 61.7, 62.2 | 70.8-70.9 | 21.1-21.2 | 18.9-19.4 | 11.9-12.0 |',
      '',
      'What the bundle changes: a node started by `flotilla start` loads 24 ES module files (1.10 MB of source, Fastify',
      'included) and 3 small CommonJS files, instead of 228 ES modules (1.21 MB) and 149 CommonJS files (0.81 MB, Fastify and',
      'its dependencies); a module\'s source stays in the heap for the life of the process, and so do the loader\'s records of',
      'each module. Fastify bundled whole (its schema compilers, pino and light-my-request, which it requires only on demand)',
      'was a 1.3 MB chunk and measured 0.8 MiB more than Fastify left out (one node, 2 runs each); the adopted bundle leaves',
      'those three out and resolves them from Fastify\'s directory if they are ever required. Minifying identifiers as well',
      'saves another 0.3-0.5 MiB (one node, 3 runs) but renames the functions in stack traces (V8 names a frame by its',
      'identifier), so names are kept: a stack trace stays readable without source maps.',
      'Source maps sit beside the chunks; `--enable-source-maps` costs about 1 MiB (one node), so it is left to the operator.',
      'With V8\'s defaults the bundle saves more (about 5.5 MiB, peak RSS 71 against 82): fewer, larger modules give the',
      'loader\'s own functions less to do, so, presumably, less of them is optimized (not measured apart).',
      '',
      '**The machine\'s environment**: the bench starts its nodes without `NODE_EXTRA_CA_CERTS`, which this build machine sets',
      'for its proxy: with it, Node parses its whole root store and the file at start, about 1.3 MiB RSS per process (members of',
      '3-node clusters, 2 runs each: 55.6 and 55.3 with it, 54.4 and 54.0 without). Tables of this section before 2026-12-07',
      'include that cost; a node that needs extra CAs still pays it.',
      '',
      '**Builtins on use** (10 nodes, one run each, same session, both without `NODE_EXTRA_CA_CERTS`): median RSS 54.0 MiB',
      'before, 53.4 and 53.7 after (two runs). An ES module import of a Node builtin builds its namespace by reading every export, which runs the',
      'getters builtins keep for costly members (`tls.rootCertificates` parses the root store and keeps 0.2 MiB of PEM strings;',
      '`crypto.webcrypto` loads the Web Crypto modules); the bundle now turns those imports into `require`, read',
      'member by member. Fastify\'s server module loads `node:http2`, `node:https` and `node:dns` on first use (HTTP/2\'s binding',
      'alone is about 0.5 MiB; the admin API runs on our own `node:http` server), and text checks avoid ICU (a Unicode',
      'property regexp, and `localeCompare`, whose collator costs 3 MiB on first use).',
      '',
      '**Process settings an operator may add** (members of 3-node clusters, one or two runs each; not defaults): glibc\'s',
      '`MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=65536` about 0.6 MiB less (malloc\'s main arena keeps less of what the',
      'join freed), `MALLOC_ARENA_MAX=1` and `node --single-threaded-gc` about 0.5 each; with the changes above, 52.0 MiB.',
      'A program cannot set them for itself (glibc reads them when the process starts, V8 when it creates the heap), and their',
      'cost under load was not measured, so the bench runs without them.',
      '',
      '**Where the memory goes** (idle members of 3- and 10-node clusters, measured with a probe outside the bench:',
      '`/proc/<pid>/smaps`, `/metrics`, a heap snapshot):',
      '- pages of the `node` executable and its libraries, shared by the ten processes: about 43 MiB with V8\'s defaults. Bare `node`',
      '  touches 33 MiB of them and the builtins a node loads (`net`, `dgram`, `crypto`, `tls`, `http`, the ESM loader) a few more;',
      '  V8\'s optimizing compiler about 5 MiB (the `node` mapping: 39.5 MiB against 34.6): once TurboFan compiles any function',
      '  (the ESM loader\'s own get hot while the program\'s modules load), its code pages stay resident. Lean, it never runs.',
      '- anonymous memory: about 24 MiB with V8\'s defaults, 18-20 MiB lean (before the bundle; about 17 with it). Before the bundle,',
      '  a heap snapshot of a lean member (12.9 MB): 3.8 MB code (0.54 bytecode, 0.41 scope infos, 0.5 feedback, 0.28 constant pools),',
      '  3.3 MB strings, of which about 2.3 MB module sources (Flotilla\'s 210 modules are 1.04 MB of JavaScript, a fifth of it comments;',
      '  149 CommonJS files, 0.8 MB, are Fastify, avvio, find-my-way, commander and semver, 47 files Fastify loads for plugin version',
      '  checks; the bundle cuts these sources to 1.1 MB), 1.2 MB object shapes, 1.7 MB arrays, and 0.7 MB of native memory in',
      '  two event-loop delay histograms (`monitorEventLoopDelay`, about 350 KB each: the driver\'s lag since the node started, for',
      '  its stats, and the `/metrics` gauges, reset at every scrape; one cannot serve both). Outside the heap: 2.6 MiB',
      '  external, 3.6-3.9 MiB in malloc\'s main arena, and 11 threads (main, 4 V8 platform workers, 4 libuv pool threads, which',
      '  the ESM loader starts when it reads the program\'s files, and 2 of Node\'s own).',
      '- 30 s after settling, V8\'s defaults measured 82 MiB: the join grows the young generation to 16 MiB, and it shrinks only at',
      '  the next scavenge, one to three minutes later at idle allocation rates; hence the 150 s settle. Lean, peak RSS is about 61 MiB.',
      '- the admin API on Fastify 5 costs about 2.5 MiB RSS in a lean node (one node, 53.5 against 51.0 MiB without `--http`).',
      '- no SQLite store and no checkpoint worker: `flotilla start` hosts no entities, so it opens no store. (An application\'s',
      '  SQLite store now starts its checkpoint worker, about 13 MiB, only once a WAL passes 2 MiB.)',
      '- levers measured (3-node clusters, members, 150 s after settling): V8 defaults 67 MiB; `node --lite-mode` 56.6; that plus',
      '  `--max-semi-space-size=1 --v8-pool-size=1` 56.1 (not adopted: half a MiB, and only a flag to `node` itself can set them:',
      '  V8 reads both when it creates the heap, so set at run time they do nothing; `--optimize-for-size` set at run time caps',
      '  the young generation at 8 MiB, on the command line at 1 MiB); the lean flags set by the entry point before',
      '  the program loads (what `--optimize-for` does) 56.6, the same flags set once the program had loaded 61.3 (the module',
      '  loader had been optimized by then). One node, 25 s after start: `--optimize-for-size` alone takes most of the anonymous',
      '  saving (a young generation and heap kept small), `--no-opt` alone most of the file-backed one; `--no-opt` with Sparkplug',
      '  still on saves less than the two together.',
      '- the price is interpreted code: `memory` costs 2.4 to 2.7 times the CPU per write under load (node-optimize-for suite, two runs).',
      '  Hence `auto`, which turns the compilers on once the event loop was busy a quarter of the time over a minute; the default',
      '  is `speed`, so that a node meeting load in its first minute does not pay that price (docs/operations.md).',
      '  A 10-node cluster forming on two cores keeps its nodes 20-60% busy for about 20 s in lean mode: a first version that',
      '  switched after 15 s above 20% switched 7 of 10 nodes during the join.',
      '',
      'The 50 MiB target is still missed, by about 3.5 MiB with `auto` (more with the default `speed`, not measured since). Of an idle member',
      'with everything above (52.0 MiB), 38 MiB are file pages (the `node` executable 35, shared libraries 3.6; bare `node` running an',
      'empty script touches 32) and 14 MiB anonymous (V8 heap pages 9, malloc 2, the rest 2.5). In the heap, the node\'s own data',
      'is about 0.6 MiB; the rest is code and the source of what it loads: Flotilla about 2.2 MiB, Fastify about 1 MiB, Node\'s',
      'builtins about 0.9 MiB. Fastify, the framework the admin API and the client gateway share, costs about 2 MiB in all; an',
      'admin server written on `node:http` alone would bring it to about 51.5 MiB (estimated from that cost,',
      'not built), still over the target.',
    ].join('\n'),
    run: runIdle,
  },
];
