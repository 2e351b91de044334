// End to end on PostgreSQL: the cluster-tests local cluster (3 runner processes) keeps its
// entities, singletons, workflows and timers in a database of the throwaway PostgreSQL
// server, and the traits, cross-entity, activity, timer, singleton and workflow suites run
// against it. The singleton and workflow suites start kill -9 clusters of their own; each
// gets a database of its own, so no two clusters ever share fences.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { freeRange } from './free-ports.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const tests = join(repo, 'examples/cluster-tests/tests');
const rawUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
const postgresUrl = rawUrl === undefined || rawUrl === '' ? undefined : rawUrl;
/** How long the launcher may take until every runner is healthy, ms. */
const READY_TIMEOUT_MS = 180_000;
/** How long the suites may take, ms. */
const E2E_TIMEOUT_MS = 600_000;
/** Kept lines of output, for the failure message. */
const OUTPUT_LINES_MAX = 400;
/**
 * The suites this file runs (name fragments for e2e.sh), in groups: each group is one
 * e2e.sh run, and a group whose suite starts a cluster of its own gets its own database.
 */
const GROUPS: readonly { readonly suites: readonly string[]; readonly ownCluster: boolean }[] = [
  { suites: ['traits', 'cross_entity', 'activities', 'timers'], ownCluster: false },
  { suites: ['singletons'], ownCluster: true },
  { suites: ['workflows'], ownCluster: true },
];

const missing = ['bash', 'curl', 'jq'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (postgresUrl === undefined) process.stderr.write('cluster-tests PostgreSQL e2e skipped: FLOTILLA_TEST_POSTGRES_URL is unset\n');

/** `url` with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

describe.skipIf(missing.length > 0 || postgresUrl === undefined)('cluster-tests e2e on PostgreSQL', () => {
  const prefix = `flo_e2e_${process.pid}_${Date.now().toString(36)}`;
  const databases = [`${prefix}_cluster`, ...GROUPS.map((_, i) => `${prefix}_suite${i}`)];
  const admin = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  const output: string[] = [];
  let launcher: ChildProcess | undefined;
  let baseUrl = '';
  let dataDir = '';

  const keep = (line: string): void => {
    output.push(line);
    if (output.length > OUTPUT_LINES_MAX) output.shift();
  };

  beforeAll(async () => {
    for (const db of databases) await admin.query(`CREATE DATABASE "${db}"`);
    dataDir = mkdtempSync(join(tmpdir(), 'flotilla-e2e-pg-'));
    launcher = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster-tests/src/local-cluster.ts', '--http', '127.0.0.1:0', '--cluster-port', '0', '--admin', '127.0.0.1:0', '--data', dataDir], {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: 'warn', POSTGRES_URL: withDatabase(postgresUrl!, databases[0]!) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = launcher;
    baseUrl = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`local cluster not ready in ${READY_TIMEOUT_MS} ms:\n${output.join('\n')}`)), READY_TIMEOUT_MS);
      let first = '';
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line);
        first ||= /runner-1 .* API (http:\/\/\S+)/.exec(line)?.[1] ?? '';
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
  }, READY_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    const child = launcher;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }, 120_000);

  it.each(GROUPS.map((group, i) => ({ ...group, database: databases[i + 1]!, name: group.suites.join(', ') })))(
    'passes the $name suites',
    async ({ suites, ownCluster, database }) => {
      // Ports for a suite's own cluster: free ones, as the SQLite e2e may run at the same time.
      const base = ownCluster ? await freeRange(20) : 0;
      const run = spawn('bash', [join(tests, 'e2e.sh'), ...suites], {
        cwd: repo,
        env: {
          ...process.env,
          BASE_URL: baseUrl,
          ...(ownCluster ? { CLUSTER_HTTP_BASE: String(base), CLUSTER_PORT_BASE: String(base + 10), SUITE_POSTGRES_URL: withDatabase(postgresUrl!, database) } : {}),
          LOG_LEVEL: 'warn',
          // Bounded for liveness only: the failover time is measured and reported, not asserted on time.
          SINGLETON_FAILOVER_MAX_S: '30',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      createInterface({ input: run.stdout }).on('line', (line) => lines.push(line));
      createInterface({ input: run.stderr }).on('line', (line) => lines.push(line));
      const code = await new Promise<number | null>((done) => run.once('exit', (c) => done(c)));
      expect(code, `e2e.sh exited ${code}\n${lines.join('\n')}\n--- local cluster (last lines) ---\n${output.slice(-60).join('\n')}`).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});
