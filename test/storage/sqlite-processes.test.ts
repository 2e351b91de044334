// The SQLite fence across real OS processes, as the nodes of `flotilla dev` share one
// file: a child process claims and writes; the parent's stale write is refused. Then
// several children open a fresh file and race for one claim at once.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/storage/migrations.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { bytes, outcome, write } from './contract-support.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'fixtures', 'sqlite-child.ts');
const repoRoot = path.resolve(here, '..', '..');
const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-sqlite-proc-'));
const RACERS = 3;
// Generous: children start TypeScript through tsx on a loaded machine.
const CHILD_DEADLINE_MS = 60_000;

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function runChild(file: string, ops: unknown[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, file, JSON.stringify(ops)], { cwd: repoRoot, timeout: CHILD_DEADLINE_MS });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

describe('sqlite across processes', () => {
  it('another process claims epoch 5 and writes; this process writing at epoch 4 is refused; the state is the other\'s', async () => {
    const file = path.join(root, 'fence', 'db.sqlite');
    const a = await SqliteStorage.open({ path: file });
    try {
      await a.claimPartition(7, 4, 'node-a');
      expect((await a.writeEntities([write({ id: 'acct', partition: 7, epoch: 4, state: bytes(1) })])).map(outcome)).toEqual(['ok:1']);
      const childOutcomes = await runChild(file, [
        { op: 'claim', partition: 7, epoch: 5, owner: 'node-b' },
        { op: 'write', write: { partition: 7, epoch: 5, writer: 'node-b', type: 'counter', id: 'acct', state: [2, 2], expectedVersion: 1 } },
        { op: 'claim', partition: 7, epoch: 4, owner: 'node-b' },
      ]);
      expect(childOutcomes).toEqual(['ok', 'ok:2', 'FLO_STALE_EPOCH']);
      const [stale] = await a.writeEntities([write({ id: 'acct', partition: 7, epoch: 4, state: bytes(3), expectedVersion: 2 })]);
      expect(outcome(stale!)).toBe('FLO_STALE_EPOCH');
      expect(await a.loadEntity('counter', 'acct')).toEqual({ type: 'counter', id: 'acct', partition: 7, state: bytes(2, 2), version: 2 });
    } finally {
      await a.close();
    }
  });

  it(`${RACERS} processes open a fresh file and claim one epoch at once: one winner, migrations recorded once`, async () => {
    const file = path.join(root, 'race', 'db.sqlite');
    const outcomes = await Promise.all(
      Array.from({ length: RACERS }, (_, i) => runChild(file, [{ op: 'claim', partition: 1, epoch: 1, owner: `node-${i}` }])),
    );
    const flat = outcomes.map((o) => o[0]);
    expect(flat.filter((o) => o === 'ok')).toHaveLength(1);
    expect(flat.filter((o) => o === 'FLO_STALE_EPOCH')).toHaveLength(RACERS - 1);
    const db = new Database(file, { readonly: true });
    try {
      const versions = db.prepare<[], { version: number }>('SELECT version FROM flotilla_schema_migrations ORDER BY version').all();
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      const fence = db.prepare<[], { owner: string }>('SELECT owner FROM flotilla_partition_fences WHERE partition = 1').get();
      expect(fence?.owner).toBe(`node-${flat.indexOf('ok')}`);
    } finally {
      db.close();
    }
  });
});
