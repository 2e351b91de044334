// A process firing a burst of workflow wake-ups is killed (SIGKILL) in the middle: every
// call of the burst is one transaction, so each workflow is either woken whole (running,
// its sleep journaled, its timer gone) or untouched; an heir then fires what is pending,
// and every workflow ends woken once. On PostgreSQL the kill lands surely mid-run: this
// process has journaled a step of the third call without committing, so the child's run
// has already rewritten that call's workflows when its journal insert waits on that row,
// and it is killed while it waits. Last, a step journaled by
// another transaction while a run applies sends the run back to commit-by-commit application.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { sleepCommit, wakeCommit, WAKE_PARTITIONS } from './fixtures/wake-workflows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const childScript = path.join(here, 'fixtures', 'wake-child.ts');
const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-wake-crash-'));
const COUNT = 2_048;
const CALL = 256;
// Generous: the child starts TypeScript through tsx on a loaded machine.
const DEADLINE_MS = 60_000;
const rawUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
const postgresUrl = rawUrl === undefined || rawUrl === '' ? undefined : rawUrl;

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Start the child; resolves once its store is open and it waits for `go()`. */
async function startChild(where: string): Promise<{ child: ChildProcess; lines: string[]; exited: Promise<void>; go: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, where, String(COUNT), String(CALL)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await until(() => lines.includes('open') || child.exitCode !== null, 'the child to open its store');
  return { child, lines, exited, go: () => child.stdin!.write('go\n') };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function prepare(store: Storage): Promise<void> {
  for (let p = 0; p < WAKE_PARTITIONS; p++) await store.claimPartition(p, 1, 'node-a');
  for (let from = 0; from < COUNT; from += CALL) {
    const results = await store.commitDurable(Array.from({ length: CALL }, (_, k) => sleepCommit(from + k)));
    expect(results.every((r) => r.ok)).toBe(true);
  }
}

/** Every workflow woken whole or untouched; answers which were woken. */
async function wokenIds(store: Storage): Promise<number[]> {
  const woken: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const loaded = await store.loadWorkflow(`w${i}`);
    const timer = await store.loadTimer(`t${i}`);
    const seen = `${loaded?.workflow.status}:${loaded?.journal.map((e) => e.seq).join(',')}:${timer === undefined ? 'fired' : 'pending'}`;
    expect(['running:0,1:fired', 'sleeping:0:pending'], `w${i}`).toContain(seen);
    if (seen.startsWith('running')) woken.push(i);
  }
  return woken;
}

/** The heir fires what is pending, and sends every firing again: none applies twice. */
async function heirFiresOnce(store: Storage): Promise<void> {
  const pending = await store.nextTimers(Array.from({ length: WAKE_PARTITIONS }, (_, p) => p), COUNT);
  const fired = await store.commitDurable(pending.map((t) => wakeCommit(Number(t.id.slice(1)))));
  expect(fired.every((r) => r.ok)).toBe(true);
  for (let from = 0; from < COUNT; from += CALL) {
    const again = await store.commitDurable(Array.from({ length: CALL }, (_, k) => wakeCommit(from + k)));
    expect(again.filter((r) => r.ok)).toHaveLength(0);
  }
  expect(await wokenIds(store)).toHaveLength(COUNT);
}

describe('a burst of wake-ups killed mid-way', () => {
  it('sqlite: each call is woken whole or not at all; the heir wakes the rest once', async () => {
    const file = path.join(root, 'wake.db');
    const store = await openStorage({ kind: 'sqlite', path: file });
    try {
      await prepare(store);
      const run = await startChild(file);
      run.go();
      await until(() => run.lines.includes('call 2') || run.lines.includes('done'), 'the third call');
      run.child.kill('SIGKILL');
      await run.exited;
      const woken = await wokenIds(store);
      expect(woken.length % CALL, 'whole calls only').toBe(0);
      expect(woken).toEqual(Array.from({ length: woken.length }, (_, i) => i));
      await heirFiresOnce(store);
    } finally {
      await store.close();
    }
  }, 120_000);

  it.skipIf(postgresUrl === undefined)('postgres: killed while its third call waits after writing inside its transaction; nothing of that call lands', async () => {
    const schema = `durable_wake_${process.pid}_${Date.now().toString(36)}`;
    const store = await openStorage({ kind: 'postgres', url: postgresUrl!, schema });
    const locker = new pg.Client({ connectionString: postgresUrl });
    await locker.connect();
    try {
      await prepare(store);
      const run = await startChild(`postgres:${schema}`);
      await locker.query('BEGIN');
      await locker.query(`INSERT INTO "${schema}".flotilla_journal (workflow_id, seq, name, outcome) VALUES ($1, 1, 'sleep:nap', $2)`, [`w${2 * CALL + 5}`, Buffer.from([1])]);
      run.go();
      await until(async () => {
        // Activity is read as of the transaction's first look: the locker's own transaction would see it frozen.
        await locker.query('SELECT pg_stat_clear_snapshot()');
        const waiting = await locker.query(
          `SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO flotilla_journal%'`,
        );
        return waiting.rows.length > 0;
      }, `the child's journal insert to wait (child printed: ${run.lines.join(', ')})`);
      expect(run.lines).toContain('call 2');
      run.child.kill('SIGKILL');
      await run.exited;
      await locker.query('ROLLBACK');
      const woken = await wokenIds(store);
      expect(woken).toEqual(Array.from({ length: 2 * CALL }, (_, i) => i));
      await heirFiresOnce(store);
    } finally {
      await locker.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await locker.end();
      await store.close();
    }
  }, 120_000);
});

describe.skipIf(postgresUrl === undefined)('postgres: a wake-up step taken by another transaction while the run applies', () => {
  it('the run falls back to commit by commit: that commit is refused, the others land', async () => {
    const schema = `durable_wake_race_${process.pid}_${Date.now().toString(36)}`;
    const store = await openStorage({ kind: 'postgres', url: postgresUrl!, schema });
    const other = new pg.Client({ connectionString: postgresUrl });
    const watcher = new pg.Client({ connectionString: postgresUrl });
    await other.connect();
    await watcher.connect();
    try {
      for (let p = 0; p < WAKE_PARTITIONS; p++) await store.claimPartition(p, 1, 'node-a');
      expect((await store.commitDurable([0, 1, 2, 3].map(sleepCommit))).every((r) => r.ok)).toBe(true);
      // Another writer journals w2's step 1 and has not committed yet: the run's read of
      // taken steps cannot see it, and its insert waits for it.
      await other.query('BEGIN');
      await other.query(`INSERT INTO "${schema}".flotilla_journal (workflow_id, seq, name, outcome) VALUES ('w2', 1, 'signal:go', $1)`, [Buffer.from([7])]);
      const results = store.commitDurable([0, 1, 2, 3].map(wakeCommit));
      await until(async () => {
        const waiting = await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%flotilla_journal%'`);
        return waiting.rows.length > 0;
      }, 'the run to wait on the other insert');
      await other.query('COMMIT');
      expect((await results).map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'ok', 'FLO_VERSION_CONFLICT', 'ok']);
      expect((await store.loadWorkflow('w2'))?.journal.map((e) => e.name)).toEqual(['a0', 'signal:go']);
      expect(await store.loadTimer('t2')).toBeDefined();
      for (const i of [0, 1, 3]) expect((await store.loadWorkflow(`w${i}`))?.journal.map((e) => e.name)).toEqual(['a0', 'sleep:nap']);
    } finally {
      await watcher.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await Promise.all([other.end(), watcher.end()]);
      await store.close();
    }
  }, 60_000);
});
