// A node that uses no etcd, no PostgreSQL or SQLite store and serves no clients does not
// load their drivers: each costs megabytes of resident memory in every idle process. The
// check runs in a fresh process, since this test runner has loaded them all already.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonLines } from '../cli/cli-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/loaded-packages.ts', import.meta.url));

function runFixture(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('lazy driver imports', () => {
  it('an idle node with the admin API loads no etcd, PostgreSQL, SQLite or WebSocket package; serving clients loads ws', async () => {
    const run = await runFixture();
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout.split('\n'));
    expect(lines).toEqual([{ idle: [] }, { serving: ['ws'] }]);
  }, 60_000);
});
