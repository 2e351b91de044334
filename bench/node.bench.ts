/**
 * Node benchmarks on real processes: `flotilla start` children on 127.0.0.1 with the
 * default SWIM settings, measured from outside through their admin APIs: failover (kill -9
 * to death declared everywhere and to every partition served again).
 */
import { performance } from 'node:perf_hooks';
import { type Row, type Suite } from './harness.js';
import {
  assertRunnable,
  freeAddress,
  getJson,
  getMetrics,
  isSettled,
  killAll,
  metricSum,
  nodeRunner,
  readView,
  sleep,
  spawnNode,
  startCluster,
  tableServedBy,
  waitForAdmin,
  waitUntil,
  type BenchNode,
  type NodeRunner,
  type NodeView,
} from './node-processes.js';
import type { MembersReport } from '../src/gateway/admin-source.js';

/** Kills per failover case; override with `FLOTILLA_BENCH_FAILOVER_REPEATS`. */
const FAILOVER_REPEATS = Math.max(1, Number(process.env.FLOTILLA_BENCH_FAILOVER_REPEATS ?? 5) || 5);
/** Interval between two polls of the survivors' admin APIs after a kill, ms. */
const FAILOVER_POLL_MS = 50;
/**
 * Longest wait for a failover, ms: the default suspicion timeout is at most 24 s (one
 * lone accuser), plus probe periods and slack.
 */
const FAILOVER_TIMEOUT_MS = 40_000;
/** Longest wait for a cluster to settle (formed, table agreed, no migration), ms. */
const SETTLE_TIMEOUT_MS = 60_000;
const NODE_NAMES = ['n1', 'n2', 'n3'] as const;

type FailoverCase = 'non-master' | 'master';
const CASES: readonly FailoverCase[] = ['non-master', 'master'];

/** One kill: ms from the kill, NaN when it did not happen within the timeout. */
interface FailoverSample {
  /** Until the first survivor saw the victim suspect (or dead). */
  readonly suspectMs: number;
  /** Until the last survivor marked the victim dead. */
  readonly deadMs: number;
  /** Until every survivor held the same table version with every owner a survivor. */
  readonly ownedMs: number;
}

/** Nearest-rank percentile of the finite samples (q in (0, 1]); NaN when there are none. */
function pct(samples: readonly number[], q: number): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const seconds = (ms: number): number => ms / 1000;
const listSeconds = (samples: readonly number[]): string => samples.map((ms) => (Number.isFinite(ms) ? seconds(ms).toFixed(2) : 'timeout')).join(', ');

/** The master as the first node that answers sees it. */
async function masterOf(nodes: readonly BenchNode[]): Promise<string> {
  for (const node of nodes) {
    const report = await getJson<MembersReport>(node, '/cluster/members');
    if (report?.master != null) return report.master;
  }
  throw new Error('node benchmarks: no node reports a master');
}

/** Whether every node's Lifeguard health is back to 0, so probes run at their base rate. */
async function healthyAwareness(nodes: readonly BenchNode[]): Promise<boolean> {
  const texts = await Promise.all(nodes.map((n) => getMetrics(n)));
  return texts.every((text) => text !== undefined && metricSum(text, 'flotilla_membership_awareness_score') === 0);
}

/** Waits until the cluster is settled and every node's awareness score is 0. */
async function waitQuiet(nodes: readonly BenchNode[]): Promise<void> {
  await waitUntil(async () => (await isSettled(nodes)) && (await healthyAwareness(nodes)), `${nodes.map((n) => n.name).join(', ')} to settle`, SETTLE_TIMEOUT_MS);
}

/** Whether this view shows `victim` as dead (or already forgotten). */
function seesDead(view: NodeView, victim: string): boolean {
  const state = view.members.members.find((m) => m.nodeId === victim)?.state;
  return state === undefined || state === 'dead';
}

/** Whether every survivor holds the same table version and every owner is a survivor. */
function ownedBySurvivors(views: readonly (NodeView | undefined)[], survivors: ReadonlySet<string>): boolean {
  const version = views[0]?.partitions.version;
  return views.every((v) => v !== undefined && v.partitions.version === version && tableServedBy(v.partitions, survivors, 0));
}

/** SIGKILLs `victim` and polls the survivors until they declared it dead and moved its partitions. */
async function measureFailover(victim: BenchNode, survivors: readonly BenchNode[]): Promise<FailoverSample> {
  const names = new Set(survivors.map((s) => s.name));
  const suspectAt = new Map<string, number>();
  const deadAt = new Map<string, number>();
  let ownedMs = Number.NaN;
  const start = performance.now();
  victim.child.kill('SIGKILL');
  for (let tick = 1; ; tick++) {
    const views = await Promise.all(survivors.map((s) => readView(s)));
    const at = performance.now() - start;
    views.forEach((view, i) => {
      const name = survivors[i]!.name;
      if (view === undefined) return;
      const state = view.members.members.find((m) => m.nodeId === victim.name)?.state;
      if (!suspectAt.has(name) && (state === 'suspect' || seesDead(view, victim.name))) suspectAt.set(name, at);
      if (!deadAt.has(name) && seesDead(view, victim.name)) deadAt.set(name, at);
    });
    if (Number.isNaN(ownedMs) && ownedBySurvivors(views, names)) ownedMs = at;
    if ((deadAt.size === survivors.length && !Number.isNaN(ownedMs)) || at > FAILOVER_TIMEOUT_MS) break;
    await sleep(Math.max(0, start + tick * FAILOVER_POLL_MS - performance.now()));
  }
  await victim.exited;
  return {
    suspectMs: suspectAt.size === 0 ? Number.NaN : Math.min(...suspectAt.values()),
    deadMs: deadAt.size === survivors.length ? Math.max(...deadAt.values()) : Number.NaN,
    ownedMs,
  };
}

/** Picks the victim of a case: the master, or the oldest member that is not the master. */
function pickVictim(live: readonly BenchNode[], master: string, kind: FailoverCase): BenchNode {
  const victim = kind === 'master' ? live.find((n) => n.name === master) : live.find((n) => n.name !== master);
  if (victim === undefined) throw new Error(`node benchmarks: no ${kind} to kill among ${live.map((n) => n.name).join(', ')}`);
  return victim;
}

/** The rows of one failover case. */
function failoverRow(kind: FailoverCase, samples: readonly FailoverSample[]): Row {
  const dead = samples.map((s) => s.deadMs);
  const owned = samples.map((s) => s.ownedMs);
  const promotion = samples.map((s) => s.ownedMs - s.deadMs);
  return {
    killed: kind,
    kills: String(samples.length),
    timeouts: String(samples.filter((s) => !Number.isFinite(s.deadMs) || !Number.isFinite(s.ownedMs)).length),
    'first suspect p50 (s)': seconds(pct(samples.map((s) => s.suspectMs), 0.5)),
    'all dead p50 (s)': seconds(pct(dead, 0.5)),
    'all dead max (s)': seconds(pct(dead, 1)),
    'live owners p50 (s)': seconds(pct(owned, 0.5)),
    'live owners max (s)': seconds(pct(owned, 1)),
    'owners after dead p50 (s)': seconds(pct(promotion, 0.5)),
    'owners after dead max (s)': seconds(pct(promotion, 1)),
    'all dead samples (s)': listSeconds(dead),
    'live owners samples (s)': listSeconds(owned),
  };
}

/**
 * Runs the failover cases on one cluster, alternating them; after each kill a fresh node
 * (a new id, seeded with the survivors) replaces the victim and the cluster settles again.
 */
async function runFailover(): Promise<Row[]> {
  const runner = nodeRunner();
  assertRunnable(runner);
  const spawned: BenchNode[] = [];
  const samples = new Map<FailoverCase, FailoverSample[]>(CASES.map((c) => [c, []]));
  const began = performance.now();
  try {
    let live = await startCluster(runner, NODE_NAMES, spawned);
    await waitQuiet(live);
    let nextId = NODE_NAMES.length + 1;
    for (let round = 0; round < FAILOVER_REPEATS; round++) {
      for (const kind of CASES) {
        const victim = pickVictim(live, await masterOf(live), kind);
        const survivors = live.filter((n) => n !== victim);
        const sample = await measureFailover(victim, survivors);
        samples.get(kind)!.push(sample);
        console.log(`  ${kind} ${victim.name}: suspect ${listSeconds([sample.suspectMs])} s, all dead ${listSeconds([sample.deadMs])} s, live owners ${listSeconds([sample.ownedMs])} s`);
        live = [...survivors, await replace(runner, survivors, `n${nextId++}`, spawned)];
        await waitQuiet(live);
      }
    }
  } finally {
    await killAll(spawned);
  }
  console.log(`  failover suite took ${seconds(performance.now() - began).toFixed(0)} s`);
  return CASES.map((kind) => failoverRow(kind, samples.get(kind)!));
}

/** Starts a new node joining through `survivors` and waits for its admin API. */
async function replace(runner: NodeRunner, survivors: readonly BenchNode[], name: string, spawned: BenchNode[]): Promise<BenchNode> {
  const node = spawnNode(runner, name, await freeAddress(), survivors.map((s) => s.address));
  spawned.push(node);
  await waitForAdmin(node);
  return node;
}

const RUNNER_NOTE =
  nodeRunner() === 'dist'
    ? 'Each node is `node dist/cli/flotilla.js start ...` (the build: run `npm run build` first; set `FLOTILLA_BENCH_RUNNER=tsx` to run the sources instead).'
    : nodeRunner() === 'modules'
      ? 'Each node is `node dist/src/cli/main.js start ...` (`FLOTILLA_BENCH_RUNNER=modules`: the build as tsc emits it, one file per module).'
      : 'Each node is `node --import tsx src/cli/main.ts start ...` (`FLOTILLA_BENCH_RUNNER=tsx`): the sources, transpiled at start.';

/** The node suite: failover after kill -9 (the idle cluster's cost is `idle.bench.ts`). */
export const suites: Suite[] = [
  {
    id: 'node-failover',
    title: 'Node: failover after kill -9 (3 processes, default SWIM)',
    notes: [
      `Three \`flotilla start\` processes on 127.0.0.1 with the default SWIM settings (no \`--swim\` overrides). ${RUNNER_NOTE}`,
      `One node is killed with SIGKILL: the oldest member that is not the master, or the master, alternately, ${FAILOVER_REPEATS} times each on one cluster. After each kill a new node (new id) joins through the survivors and the cluster settles (views agree, every partition has a live owner and backup, no migration in flight, Lifeguard awareness back to 0) before the next kill.`,
      `The bench polls each survivor's \`/cluster/members\` and \`/cluster/partitions\` every ${FAILOVER_POLL_MS} ms (so times carry up to ~${FAILOVER_POLL_MS} ms of polling error): *first suspect* is the first survivor seeing the victim suspect; *all dead* is the last survivor marking it dead; *live owners* is when the survivors hold the same table version and no partition's owner is the victim; *owners after dead* is the difference (0 or less: the master moved the partitions before the last survivor marked the victim dead).`,
      `With ${FAILOVER_REPEATS} samples per case p99 means nothing, so the table shows p50 (the median) and max, and every sample.`,
      '',
      'Target: all dead p50 under 6 s; live owners under 1 s after that. With the defaults in a 3-node cluster the minimum suspicion timeout is `suspicionMult * max(1, log10 3) * probeIntervalMs` = 4 s (it starts at 6 x that, 24 s, and falls to the minimum with one independent confirmation, the most 3 nodes can give), after a probe period or two to suspect.',
    ].join('\n'),
    run: runFailover,
  },
];
