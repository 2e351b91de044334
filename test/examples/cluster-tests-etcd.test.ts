// End to end in etcd mode: the same as cluster-tests.test.ts (the local cluster of 3
// runners, then every bash suite through e2e.sh), with every runner, the launcher's and
// the suites' own, in etcd mode against a throwaway etcd (ETCD_ENDPOINTS), so the same
// suites pass with the registry, the leases and the partition locks in the path.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { EtcdServer, etcdBinary } from '../helpers/etcd-server.js';
import { freeRange } from './free-ports.js';

const repo = resolve(import.meta.dirname, '../..');
const tests = join(repo, 'examples/cluster-tests/tests');
/** How long the launcher may take until every runner is healthy, ms. */
const READY_TIMEOUT_MS = 180_000;
/** How long the whole e2e run may take, ms. */
const E2E_TIMEOUT_MS = 900_000;
/** Kept lines of output, for the failure message. */
const OUTPUT_LINES_MAX = 400;

const missing = ['bash', 'curl', 'jq', 'etcd'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) process.stderr.write(`cluster-tests e2e in etcd mode skipped: ${missing.join(', ')} not installed\n`);
/** A short lease, so the suites' kill -9 fails over within their deadlines. */
const LEASE_TTL_SEC = '4';
let etcd: EtcdServer | undefined;
/** The environment that puts a runner in etcd mode. */
const etcdEnv = (): Record<string, string> => ({ ETCD_ENDPOINTS: etcd!.endpoint, ETCD_LEASE_TTL_SEC: LEASE_TTL_SEC });

let launcher: ChildProcess | undefined;
let baseUrl = '';
const output: string[] = [];
let dataDir = '';
let adminUrl = '';

function keep(line: string): void {
  output.push(line);
  if (output.length > OUTPUT_LINES_MAX) output.shift();
}

describe.skipIf(missing.length > 0 || etcdBinary() === undefined)('cluster-tests e2e in etcd mode', () => {
  beforeAll(async () => {
    etcd = await EtcdServer.start();
    dataDir = mkdtempSync(join(tmpdir(), 'flotilla-e2e-'));
    launcher = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster-tests/src/local-cluster.ts', '--http', '127.0.0.1:0', '--cluster-port', '0', '--admin', '127.0.0.1:0', '--data', dataDir], {
      cwd: repo,
      env: { ...process.env, ...etcdEnv(), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = launcher;
    baseUrl = await new Promise<string>((done, fail) => {
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
  }, READY_TIMEOUT_MS + 10_000);

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
    await etcd?.stop();
  }, 90_000);

  it('registers the local cluster\'s runners in etcd and locks every partition', async () => {
    const client = new Etcd3({ hosts: etcd!.endpoint });
    try {
      const runners = await client.getAll().prefix('/flotilla/flotilla/runners/').keys();
      expect(runners).toHaveLength(3);
      // Locks follow the table: wait (with a deadline) for the moves after the start to settle.
      const deadline = Date.now() + 60_000;
      let wrong: { partition: number; owner: string }[] = [];
      do {
        if (wrong.length > 0) await new Promise((r) => setTimeout(r, 200));
        const locks = await client.getAll().prefix('/flotilla/flotilla/locks/').strings();
        const shards = (await (await fetch(`${baseUrl}/debug/shards`)).json()) as { partition: number; owner: string }[];
        wrong = shards.length === 0 ? [{ partition: -1, owner: '(no table)' }] : shards.filter((s) => locks[`/flotilla/flotilla/locks/${s.partition}`] !== s.owner);
      } while (wrong.length > 0 && Date.now() < deadline);
      expect(wrong.length, `partitions whose lock is not their owner's: ${JSON.stringify(wrong.slice(0, 5))}`).toBe(0);
    } finally {
      client.close();
    }
  });

  it(
    'passes every bash suite',
    async () => {
      const httpBase = await freeRange(3);
      const clusterBase = await freeRange(3, [httpBase]);
      const run = spawn('bash', [join(tests, 'e2e.sh')], {
        cwd: repo,
        env: { ...process.env, ...etcdEnv(), BASE_URL: baseUrl, CLUSTER_HTTP_BASE: String(httpBase), CLUSTER_PORT_BASE: String(clusterBase), LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      createInterface({ input: run.stdout }).on('line', (line) => lines.push(line));
      createInterface({ input: run.stderr }).on('line', (line) => lines.push(line));
      const code = await new Promise<number | null>((done) => run.once('exit', (c) => done(c)));
      const report = `e2e.sh exited ${code}\n${lines.join('\n')}\n--- local cluster (last lines) ---\n${output.slice(-60).join('\n')}`;
      expect(code, report).toBe(0);
    },
    E2E_TIMEOUT_MS,
  );
});
