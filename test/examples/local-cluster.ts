// The cluster-tests local cluster (3 runner processes on OS-assigned ports, a temporary
// data directory) and the bash suites run against it, shared by the e2e test files that
// run the suites on SQLite, PostgreSQL and etcd.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const repo = resolve(import.meta.dirname, '../..');
const tests = join(repo, 'examples/cluster-tests/tests');
/** How long the launcher may take until every runner is healthy, ms. */
export const READY_TIMEOUT_MS = 180_000;
/** Kept lines of the launcher's output, for failure messages. */
const OUTPUT_LINES_MAX = 400;
/** How long a runner may take to leave after SIGTERM before it is killed, ms. */
const STOP_GRACE_MS = 60_000;

export interface LocalCluster {
  /** The first runner's API. */
  readonly baseUrl: string;
  /** The first runner's admin API. */
  readonly adminUrl: string;
  /** The launcher's last lines, for failure messages. */
  tail(lines?: number): string;
  /** Stops the runners (SIGTERM, then SIGKILL after a grace period) and removes the data. */
  stop(): Promise<void>;
}

/** Starts the launcher with `env` added to this process's environment; resolves once it printed READY. */
export async function startLocalCluster(env: Record<string, string>): Promise<LocalCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-e2e-'));
  const output: string[] = [];
  const keep = (line: string): void => {
    output.push(line);
    if (output.length > OUTPUT_LINES_MAX) output.shift();
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster-tests/src/local-cluster.ts', '--http', '127.0.0.1:0', '--cluster-port', '0', '--admin', '127.0.0.1:0', '--data', dataDir], {
    cwd: repo,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  let adminUrl = '';
  try {
    const baseUrl = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`local cluster not ready in ${READY_TIMEOUT_MS} ms:\n${output.join('\n')}`)), READY_TIMEOUT_MS);
      let first = '';
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line);
        first ||= /runner-1 .* API (http:\/\/\S+)/.exec(line)?.[1] ?? '';
        adminUrl ||= /runner-1 .* admin (http:\/\/\S+)/.exec(line)?.[1] ?? '';
        if (line === 'READY') {
          clearTimeout(timer);
          done(first);
        }
      });
      createInterface({ input: child.stderr! }).on('line', keep);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`local cluster exited (${code}) before it was ready:\n${output.join('\n')}`));
      });
    });
    return { baseUrl, adminUrl, tail: (lines = 60) => output.slice(-lines).join('\n'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs e2e.sh with `args` (suite name fragments; none runs them all) and `env` added;
 * resolves with its exit code and a report of its output and the cluster's last lines.
 */
export async function runSuites(cluster: LocalCluster, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; report: string }> {
  const run = spawn('bash', [join(tests, 'e2e.sh'), ...args], {
    cwd: repo,
    env: { ...process.env, BASE_URL: cluster.baseUrl, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: run.stdout }).on('line', (line) => lines.push(line));
  createInterface({ input: run.stderr }).on('line', (line) => lines.push(line));
  const code = await new Promise<number | null>((done) => run.once('exit', (c) => done(c)));
  return { code, report: `e2e.sh exited ${code}\n${lines.join('\n')}\n--- local cluster (last lines) ---\n${cluster.tail()}` };
}
