// Runs the `flotilla` command as a real child process (through tsx, so the test always
// runs the current sources, never a stale build) and collects its output by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A running `flotilla` process. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** Spawns `flotilla <args>` with `env` added to the environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, stdout, stderr, exited };
}

/** Runs `flotilla <args>` to completion. */
export async function runCliToEnd(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | string; stdout: string[]; stderr: string[] }> {
  const run = runCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** The parsed JSON log lines of a process so far. */
export function jsonLines(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null) out.push(value as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Clusters of `flotilla start` processes, reached through their admin APIs.
// ---------------------------------------------------------------------------------------

/** A fresh random secret or token, as the docs say to make one (`openssl rand -base64 32`). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64');
}

/** The admin token every `startNodeProcess` node serves its admin API with. */
export const PROCESS_ADMIN_TOKEN = randomSecret();

/** The documented `--swim` flag, scaled down so failures are detected within seconds. */
export const FAST_SWIM = 'probeIntervalMs=200,probeTimeoutMs=100,gossipIntervalMs=50,suspicionMult=2,joinBackoffInitialMs=50,joinBackoffMaxMs=500,leaveTimeoutMs=2000';

/** A `flotilla start` process that is (or was meant to be) one cluster node. */
export interface NodeProcess {
  readonly name: string;
  /** Cluster address (`127.0.0.1:port`, UDP and TCP). */
  readonly address: string;
  readonly proc: CliProcess;
}

/** Options of `startNodeProcess`. */
export interface NodeProcessOptions {
  readonly name: string;
  readonly address: string;
  readonly seed: string;
  /** The cluster secret (FLOTILLA_SECRET). */
  readonly secret: string;
  /** Overrides of the `--swim` settings; FAST_SWIM by default. */
  readonly swim?: string;
  /** More environment for the node (e.g. libfaketime's `LD_PRELOAD` and `FAKETIME`). */
  readonly env?: Readonly<Record<string, string>>;
  /** The node's data directory (`--data`); none by default. */
  readonly dataDir?: string;
  /** More `flotilla start` flags. */
  readonly extraArgs?: readonly string[];
}

/** Spawns `flotilla start` for one node, with its admin API on a free loopback port. */
export function startNodeProcess(options: NodeProcessOptions): NodeProcess {
  const args = ['start', '--node-id', options.name, '--listen', options.address, '--seeds', options.seed, '--http', '127.0.0.1:0', '--swim', options.swim ?? FAST_SWIM];
  if (options.dataDir !== undefined) args.push('--data', options.dataDir);
  args.push(...(options.extraArgs ?? []));
  const env = { FLOTILLA_SECRET: options.secret, FLOTILLA_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN, LOG_LEVEL: 'info', ...options.env };
  return { name: options.name, address: options.address, proc: runCli(args, env) };
}

/** The URL the node's admin API logged once listening, or undefined before that. */
export function adminUrlOf(node: NodeProcess): string | undefined {
  const line = jsonLines(node.proc.stdout).find((l) => l.msg === 'admin API listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

/** An admin API answer: the status and the parsed JSON (or raw text) body. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One request to an admin API, with the admin token; rejects on a network error or after `timeoutMs`. */
export async function adminCall(url: string, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<AdminAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${PROCESS_ADMIN_TOKEN}` };
  const init: RequestInit = { method, signal: AbortSignal.timeout(timeoutMs), headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(new URL(path, url), init);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Polls `check` every `intervalMs` until it holds; throws with `describe()` after `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, describe?: () => string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe === undefined ? '' : `; ${describe()}`}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Sum of the samples of `name` in Prometheus text whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[key!] = value!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3]);
  }
  return sum;
}
