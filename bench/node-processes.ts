/**
 * Real `flotilla start` processes on 127.0.0.1 for the node benchmarks: spawning a small
 * cluster from the build in `dist/` (or from the sources through tsx), reading each node's
 * admin API, waiting for the cluster to settle, and killing every child at the end.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freeClusterPort } from '../src/cli/dev-command.js';
import type { MembersReport, MigrationsReport, PartitionsReport } from '../src/gateway/admin-source.js';
import { jsonLines, runCli } from '../test/cli/cli-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The built command, the package's bin; `npm run build` (or `npm install`'s prepare) writes it. */
export const DIST_MAIN = fileURLToPath(new URL('../dist/cli/flotilla.js', import.meta.url));
/** The same command as tsc emits it, one file per module (before the bundle; for comparisons). */
export const MODULES_MAIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
/** Secret shared by the benchmark clusters (loopback only, never a real cluster). */
/** Fresh per run, as the docs say to make them: `flotilla start` refuses weak ones. */
const SECRET = randomBytes(32).toString('base64');
const ADMIN_TOKEN = randomBytes(32).toString('base64');
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const LOOPBACK = '127.0.0.1';
/** Log lines kept per process for diagnostics; older ones are dropped. */
const LOG_LINES_MAX = 2_000;
/** Longest wait for one admin API request, ms. */
const REQUEST_TIMEOUT_MS = 2_000;
/** Longest wait for a spawned node to serve its admin API, ms. */
const ADMIN_UP_TIMEOUT_MS = 30_000;
/** Longest wait for a killed child to be reaped, ms. */
const REAP_TIMEOUT_MS = 5_000;
/** Pause between two polls while waiting for a condition, ms. */
const WAIT_POLL_MS = 100;

/**
 * How the nodes run: `dist` spawns `node dist/cli/flotilla.js` (the default: the bundled
 * bin an installed package runs, one process per node); `modules` spawns tsc's
 * `node dist/src/cli/main.js`, one file per module (to measure what the bundle changes);
 * `tsx` spawns `node --import tsx src/cli/main.ts` through the CLI tests' helper (current
 * sources without a build, but esbuild's helper process is not counted by the CPU and
 * memory readings).
 */
export type NodeRunner = 'dist' | 'modules' | 'tsx';

/** The runner chosen by `FLOTILLA_BENCH_RUNNER` (`dist` unless set to `modules` or `tsx`). */
export function nodeRunner(): NodeRunner {
  const chosen = process.env.FLOTILLA_BENCH_RUNNER;
  return chosen === 'tsx' || chosen === 'modules' ? chosen : 'dist';
}

/** Throws a clear error when a built runner is chosen but there is no build. */
export function assertRunnable(runner: NodeRunner): void {
  const main = runner === 'modules' ? MODULES_MAIN : DIST_MAIN;
  if (runner !== 'tsx' && !existsSync(main)) {
    throw new Error(`node benchmarks: ${main} does not exist; run \`npm run build\` first (or set FLOTILLA_BENCH_RUNNER=tsx to run the sources)`);
  }
}

/** One running `flotilla start` process. */
export interface BenchNode {
  readonly name: string;
  /** Cluster address, `127.0.0.1:port`. */
  readonly address: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code or signal name once the process ended. */
  readonly exited: Promise<number | string>;
  /** The last log lines (stdout and stderr), for error messages. */
  readonly lines: string[];
  /** Admin API base URL, known once the node logged it. */
  url?: string;
}

/** A cluster address free for both TCP and UDP on loopback. */
export async function freeAddress(): Promise<string> {
  return `${LOOPBACK}:${await freeClusterPort(LOOPBACK)}`;
}

function keepLine(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > LOG_LINES_MAX) lines.splice(0, lines.length - LOG_LINES_MAX);
}

/**
 * Node.js flags for the `dist` runner's nodes, from `FLOTILLA_BENCH_NODE_FLAGS` (space
 * separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them: Node refuses
 * `--cpu-prof` in NODE_OPTIONS.
 */
function nodeFlags(): string[] {
  return (process.env.FLOTILLA_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
}

/**
 * The bench's environment, for its nodes, without what belongs to the machine rather than
 * to a node: `NODE_EXTRA_CA_CERTS` (some build machines set it for a proxy) makes Node parse
 * its whole root store plus the file at start, about 1.3 MiB RSS per process, and no
 * bench node dials out over TLS. A bench that needs it passes it in `env`.
 */
function nodeEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _machineCas, ...rest } = process.env;
  return { ...rest, ...env };
}

function spawnChild(runner: NodeRunner, args: readonly string[], env: Record<string, string>): ChildProcess {
  if (runner === 'tsx') return runCli(args, env).child;
  return spawn(process.execPath, [...nodeFlags(), runner === 'modules' ? MODULES_MAIN : DIST_MAIN, ...args], { cwd: ROOT, env: nodeEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Spawns `flotilla start` for node `name` at `address`, joining through `seeds`, with the
 * admin API on a port the OS picks, `swim` overrides when given, and `extra` flags and environment.
 */
export function spawnNode(
  runner: NodeRunner,
  name: string,
  address: string,
  seeds: readonly string[],
  swim?: string,
  extra: { readonly args?: readonly string[]; readonly env?: Readonly<Record<string, string>> } = {},
): BenchNode {
  const args = ['start', '--node-id', name, '--listen', address, '--seeds', seeds.join(','), '--http', `${LOOPBACK}:0`, ...(extra.args ?? [])];
  if (swim !== undefined) args.push('--swim', swim);
  // Stdin stays open: if the bench dies without cleaning up, its end makes the node leave.
  const child = spawnChild(runner, args, { FLOTILLA_SECRET: SECRET, FLOTILLA_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'info', FLOTILLA_STOP_ON_STDIN_END: '1', ...extra.env });
  if (child.pid === undefined) throw new Error(`node benchmarks: could not spawn ${name}`);
  const lines: string[] = [];
  const node: BenchNode = { name, address, child, pid: child.pid, lines, exited: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'))) };
  // The tsx helper already reads the streams by line; a second reader sees the same lines.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    keepLine(lines, line);
    if (node.url === undefined && line.includes('admin API listening')) {
      const url = jsonLines([line])[0]?.url;
      if (typeof url === 'string') node.url = url;
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => keepLine(lines, line));
  return node;
}

/** `PUT /kv/{key}` on `node`'s admin API; resolves the HTTP status (0 when no answer within `timeoutMs`). */
export async function putKv(node: BenchNode, key: string, value: string, timeoutMs: number): Promise<number> {
  try {
    const res = await fetch(`${node.url}/kv/${encodeURIComponent(key)}`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(value), signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; throws `what` with `detail()` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`node benchmarks: timed out after ${timeoutMs} ms waiting for ${what}${detail()}`);
    await sleep(WAIT_POLL_MS);
  }
}

/** Waits until `node` serves its admin API (it logged the URL), or fails if it exited. */
export async function waitForAdmin(node: BenchNode): Promise<void> {
  let ended: number | string | undefined;
  void node.exited.then((code) => (ended = code));
  await waitUntil(
    () => {
      if (ended !== undefined) throw new Error(`node benchmarks: ${node.name} exited (${ended}) before serving:\n${node.lines.slice(-20).join('\n')}`);
      return node.url !== undefined;
    },
    `${node.name}'s admin API`,
    ADMIN_UP_TIMEOUT_MS,
  );
}

/** GETs `path` from the node's admin API as JSON; undefined on any failure. */
export async function getJson<T>(node: BenchNode, path: string): Promise<T | undefined> {
  if (node.url === undefined) return undefined;
  try {
    const response = await fetch(new URL(path, node.url), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), headers: AUTH });
    if (!response.ok) return undefined;
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}

/** GETs `/metrics` as text; undefined on any failure. */
export async function getMetrics(node: BenchNode): Promise<string | undefined> {
  if (node.url === undefined) return undefined;
  try {
    const response = await fetch(new URL('/metrics', node.url), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), headers: AUTH });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of every sample of `metric` (all label sets) in Prometheus text; undefined if absent. */
export function metricSum(text: string, metric: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== ' ' && line[metric.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** What one node reports about the cluster at one moment. */
export interface NodeView {
  readonly members: MembersReport;
  readonly partitions: PartitionsReport;
}

/** Reads members and partitions from one node; undefined when either read failed. */
export async function readView(node: BenchNode): Promise<NodeView | undefined> {
  const [members, partitions] = await Promise.all([getJson<MembersReport>(node, '/cluster/members'), getJson<PartitionsReport>(node, '/cluster/partitions')]);
  return members === undefined || partitions === undefined ? undefined : { members, partitions };
}

/** Whether no partition lacks a live owner, the backups are live, and there are enough of them. */
export function tableServedBy(partitions: PartitionsReport, live: ReadonlySet<string>, backupsMin: number): boolean {
  if (partitions.partitions.length !== partitions.partitionCount) return false;
  return partitions.partitions.every((p) => p.owner !== null && live.has(p.owner) && p.backups.length >= backupsMin && p.backups.every((b) => live.has(b)));
}

/**
 * Whether `nodes` form a settled cluster: each sees exactly them alive with the same
 * master, they agree on the partition table version, every partition has a live owner and
 * a live backup, and no migration is in flight.
 */
export async function isSettled(nodes: readonly BenchNode[]): Promise<boolean> {
  const live = new Set(nodes.map((n) => n.name));
  const views = await Promise.all(nodes.map((n) => readView(n)));
  const migrations = await Promise.all(nodes.map((n) => getJson<MigrationsReport>(n, '/cluster/migrations')));
  const first = views[0];
  if (first === undefined || first.members.master === null) return false;
  return views.every((view, i) => {
    if (view === undefined || migrations[i] === undefined || migrations[i].inFlight.length > 0) return false;
    const alive = view.members.members.filter((m) => m.state === 'alive').map((m) => m.nodeId);
    return (
      alive.length === live.size &&
      alive.every((id) => live.has(id)) &&
      view.members.master === first.members.master &&
      view.partitions.version === first.partitions.version &&
      tableServedBy(view.partitions, live, Math.min(1, live.size - 1))
    );
  });
}

/** Waits until `nodes` are settled (see `isSettled`). */
export async function waitSettled(nodes: readonly BenchNode[], timeoutMs: number): Promise<void> {
  await waitUntil(() => isSettled(nodes), `${nodes.map((n) => n.name).join(', ')} to settle`, timeoutMs);
}

/**
 * Starts `names.length` nodes: the first forms the cluster, the others join through it
 * once it serves. Resolves when every admin API is up (not necessarily settled). On
 * failure the nodes already spawned are in `into`, for the caller's cleanup.
 */
export async function startCluster(runner: NodeRunner, names: readonly string[], into: BenchNode[], swim?: string, env: Readonly<Record<string, string>> = {}): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  let seed: string | undefined;
  for (const name of names) {
    const address = await freeAddress();
    seed ??= address;
    const node = spawnNode(runner, name, address, [seed], swim, { env });
    into.push(node);
    nodes.push(node);
    if (nodes.length === 1) await waitForAdmin(node);
  }
  for (const node of nodes) await waitForAdmin(node);
  return nodes;
}

/** SIGKILLs every node still running and waits (bounded) until each was reaped. */
export async function killAll(nodes: readonly BenchNode[]): Promise<void> {
  for (const node of nodes) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  }
  await Promise.race([Promise.all(nodes.map((n) => n.exited)), sleep(REAP_TIMEOUT_MS)]);
}

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) the process used so far, in ms, from `/proc/<pid>/stat`. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** A field of `/proc/<pid>/status` given in kB (e.g. `VmRSS`, `VmHWM`), in bytes. */
export function statusBytes(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`node benchmarks: no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
