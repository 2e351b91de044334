/**
 * A workflow's resume after kill -9 of its owner, on real processes: three nodes with the
 * default membership settings over one shared store, a workflow of short steps under way on
 * one of them, that process killed with SIGKILL. Measured from the kill: when each survivor
 * declared it failed (failure detection), and when a survivor ran the workflow's next step
 * (the resume). Target: the resume within one failure-detection period plus 200 ms, with no
 * step run twice except the one in flight at the kill.
 *
 * `FAILOVER_TRACE=1` prints each node's timeline around the kill (views, tables, master,
 * event-loop stalls); `FAILOVER_PROF=1` writes CPU profiles of the nodes to /tmp/prof.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { StorageOptions } from '../src/storage/storage.js';
import { postgresUrl } from './entities-nodes.js';
import type { FailoverNodeArgs } from './fixtures/workflow-failover-node.js';
import { fmt, type Row, type Suite } from './harness.js';
import { nodeRunner } from './node-processes.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/workflow-failover-node.ts', import.meta.url));
/** The fixture as `npm run build` compiles it: what runs by default, like an installed node (no tsx). */
const FIXTURE_BUILT = fileURLToPath(new URL('../dist/bench/fixtures/workflow-failover-node.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Kills per storage (`FLOTILLA_BENCH_FAILOVER_RUNS`, default 4: master and member by turns); each on a fresh cluster. */
const RUNS = Math.max(1, Number(process.env.FLOTILLA_BENCH_FAILOVER_RUNS ?? '4') || 4);
const NODES = 3;
/** The workflow: this many steps of this many ms each, killed once this many ran. */
const STEPS = 800;
const STEP_MS = 10;
const KILL_AFTER_STEPS = 30;
/** The bound: one failure-detection period plus this, ms. */
const RESUME_SLACK_MS = 200;
/** Longest wait for any one condition, ms. */
const WAIT_MS = 90_000;

type Line = Record<string, unknown> & { readonly at?: number };

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: Line[];
  readonly exited: Promise<unknown>;
  address?: string;
}

function spawnProc(name: string, args: FailoverNodeArgs): Proc {
  const argv = nodeRunner() !== 'tsx' ? [FIXTURE_BUILT] : ['--import', 'tsx', FIXTURE];
  const child = spawn(process.execPath, [...(process.env.FAILOVER_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), ...argv, JSON.stringify(args)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const proc: Proc = { name, child, lines: [], exited: new Promise((resolve) => child.on('close', resolve)) };
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as Line;
    proc.lines.push(line);
    if (line.ready === true) proc.address = String(line.address);
  });
  return proc;
}

function send(proc: Proc, command: Record<string, unknown>): void {
  proc.child.stdin!.write(`${JSON.stringify(command)}\n`);
}

async function until<T>(what: string, probe: () => T | undefined, pollMs = 5): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`workflow failover bench: no ${what} within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Every node sees all the nodes alive, spread over all of them, no migration in flight. */
async function settled(procs: readonly Proc[]): Promise<void> {
  await until(
    'settled cluster',
    () => {
      const latest = procs.map((p) => {
        send(p, { stats: true });
        return p.lines.filter((l) => l.stats === true).at(-1);
      });
      return latest.every((s) => s !== undefined && s.owners === procs.length && s.migrations === 0 && s.alive === procs.length) ? true : undefined;
    },
    200,
  );
}

function storageFor(kind: 'sqlite' | 'postgres', dir: string, run: number): StorageOptions {
  if (kind === 'sqlite') return { kind: 'sqlite', path: path.join(dir, 'flotilla.db') };
  return { kind: 'postgres', url: postgresUrl()!, schema: `bench_failover_${process.pid}_${run}_${Date.now().toString(36)}` };
}

interface Outcome {
  readonly detectOwnerMs: number;
  readonly detectFirstMs: number;
  readonly detectLastMs: number;
  readonly resumeMs: number;
  /** When the new owner's table first named it the owner, ms after the kill. */
  readonly ownerMs: number;
  readonly victimWasMaster: boolean;
  readonly twice: number;
  readonly allRan: boolean;
}

async function oneKill(kind: 'sqlite' | 'postgres', run: number): Promise<Outcome> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-failover-'));
  const secret = randomBytes(32).toString('base64');
  const storage = storageFor(kind, dir, run);
  const procs: Proc[] = [];
  try {
    const first = spawnProc('f1', { nodeId: 'f1', seeds: [], secret, storage });
    procs.push(first);
    const seed = await until('first node', () => first.address);
    for (let i = 2; i <= NODES; i++) procs.push(spawnProc(`f${i}`, { nodeId: `f${i}`, seeds: [seed], secret, storage }));
    await until('every node ready', () => (procs.every((p) => p.address !== undefined) ? true : undefined));
    await settled(procs);

    // Odd runs kill the master (the oldest member) with the workflow, even runs another member.
    const wantMaster = run % 2 === 1;
    let id = '';
    for (let k = 0; id === ''; k++) {
      const candidate = `ticks-${run}-${k}`;
      send(first, { ownerOf: candidate });
      const answer = await until('an owner answer', () => first.lines.find((l) => l.ownerOf === candidate));
      if ((answer.owner === answer.master) === wantMaster) id = candidate;
    }
    for (const p of procs) send(p, { watch: id });
    send(first, { run: id, steps: STEPS, stepMs: STEP_MS });
    const victim = await until('the owner running the workflow', () => procs.find((p) => p.lines.filter((l) => typeof l.step === 'number').length >= KILL_AFTER_STEPS));
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivors = procs.filter((p) => p !== victim);
    const stepsAfter = (p: Proc): Line[] => p.lines.filter((l) => typeof l.step === 'number' && l.at! >= killedAt);
    const resumer = await until('a survivor running a step', () => survivors.find((p) => stepsAfter(p).length > 0));
    const resumedAt = stepsAfter(resumer)[0]!.at!;
    const failedAt = (p: Proc): number | undefined => p.lines.find((l) => l.failed === victim.name)?.at;
    await until('every survivor declaring the victim failed', () => (survivors.every((p) => failedAt(p) !== undefined) ? true : undefined));
    await until('the last step', () => (survivors.some((p) => p.lines.some((l) => l.step === STEPS - 1)) ? true : undefined));
    const ownsAt = resumer.lines.find((l) => l.owns === id && l.at! >= killedAt)?.at;
    if (process.env.FAILOVER_TRACE === '1') {
      for (const p of procs) for (const l of p.lines) if ((l.table !== undefined || l.failed !== undefined || l.owns !== undefined || l.masterNow !== undefined || l.event !== undefined || l.viewPolled !== undefined || l.blockedMs !== undefined) && l.at! >= killedAt - 100) console.log(p.name, JSON.stringify({ ...l, at: l.at! - killedAt }));
    }
    const detections = survivors.map((p) => failedAt(p)! - killedAt);
    const ran = new Map<number, number>();
    for (const p of procs) for (const l of p.lines) if (typeof l.step === 'number') ran.set(l.step, (ran.get(l.step) ?? 0) + 1);
    return {
      detectOwnerMs: failedAt(resumer)! - killedAt,
      detectFirstMs: Math.min(...detections),
      detectLastMs: Math.max(...detections),
      resumeMs: resumedAt - killedAt,
      ownerMs: ownsAt === undefined ? Number.NaN : ownsAt - killedAt,
      victimWasMaster: wantMaster,
      twice: [...ran.values()].filter((count) => count > 1).length,
      allRan: ran.size === STEPS,
    };
  } finally {
    for (const p of procs) p.child.stdin!.end();
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const failover: Suite = {
  id: 'workflow-failover',
  title: 'Workflows: resume after kill -9 of the owner (3 processes, default membership settings)',
  notes: [
    `Three \`startNode\` processes on 127.0.0.1 (default SWIM and partition settings) over one shared store: a SQLite file`,
    '(`synchronous = FULL`) or a PostgreSQL schema. A workflow of ' + `${STEPS} steps (each an activity of ${STEP_MS} ms, journaled) is started; once`,
    `${KILL_AFTER_STEPS} steps ran, its owner's process gets SIGKILL. From the kill: *detection* is when a survivor declared the`,
    'victim failed (the new owner, and the first and last survivor), *resume* is when a survivor started the next step.',
    'The new owner finds the workflow itself (no call retried by a client). *Twice* counts steps that ran on both',
    'processes: at most the one in flight at the kill (its journal entry may not have committed). Each run on a fresh',
    `cluster. Target: resume within one failure-detection period plus ${RESUME_SLACK_MS} ms (resume minus the new owner's detection).`,
  ].join('\n'),
  run: async () => {
    if (nodeRunner() !== 'tsx' && !existsSync(FIXTURE_BUILT)) throw new Error(`${FIXTURE_BUILT} does not exist: run \`npm run build\` first (or FLOTILLA_BENCH_RUNNER=tsx)`);
    const kinds: ('sqlite' | 'postgres')[] = ['sqlite', ...(postgresUrl() === undefined ? [] : (['postgres'] as const))];
    const rows: Row[] = [];
    for (const kind of kinds) {
      for (let run = 1; run <= RUNS; run++) {
        const o = await oneKill(kind, run);
        const over = o.resumeMs - o.detectOwnerMs;
        rows.push({
          storage: kind,
          run,
          'detection: new owner / first / last survivor (s)': `${fmt(o.detectOwnerMs / 1000)} / ${fmt(o.detectFirstMs / 1000)} / ${fmt(o.detectLastMs / 1000)}`,
          victim: o.victimWasMaster ? 'master' : 'member',
          'new owner in its table (s)': fmt(o.ownerMs / 1000),
          'resume (s)': fmt(o.resumeMs / 1000),
          'resume - detection (ms)': fmt(over),
          'steps run twice': o.twice,
          'every step ran': o.allRan ? 'yes' : 'no',
          target: `<= detection + ${RESUME_SLACK_MS} ms, at most 1 step twice: ${over <= RESUME_SLACK_MS && o.twice <= 1 && o.allRan ? 'met' : 'missed'}`,
        });
      }
    }
    if (postgresUrl() === undefined) rows.push({ storage: 'postgres', run: 'skipped: FLOTILLA_TEST_POSTGRES_URL unset' });
    rows.push({ storage: 'load average (1 min) at the end', run: fmt(os.loadavg()[0]!) });
    return rows;
  },
};

export const suites: Suite[] = [failover];
