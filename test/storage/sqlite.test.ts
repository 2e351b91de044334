// The storage contract against SQLite (temp files under os.tmpdir()), plus what only
// SQLite has: file and directory creation, WAL, the busy timeout, the synchronous level,
// bad paths.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open-storage.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { defineStorageContract } from './contract.js';
import { rejectsWith, write } from './contract-support.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-sqlite-'));
let counter = 0;
/** SQLite's WAL layout: a file header, then per frame a header and one page (4 KiB by default). */
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;
const PAGE_BYTES = 4096;
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshFile(): string {
  counter++;
  return path.join(root, `db-${counter}`, 'flotilla.sqlite');
}

function withRaw<T>(file: string, body: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

defineStorageContract({
  name: 'sqlite',
  shared: true,
  freshDatabase: () => {
    const file = freshFile();
    return Promise.resolve({
      open: () => SqliteStorage.open({ path: file }),
      recordSchemaVersion: (version: number) => {
        withRaw(file, (db) => db.prepare('INSERT INTO flotilla_schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(version, 'from the future'));
        return Promise.resolve();
      },
      recordedMigrations: () =>
        Promise.resolve(withRaw(file, (db) => db.prepare<[], { version: number }>('SELECT version FROM flotilla_schema_migrations ORDER BY version').all().map((r) => r.version))),
      dispose: () => {
        rmSync(path.dirname(file), { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
});

describe('sqlite specifics', () => {
  it('creates the file and its directories, in WAL mode, and describes itself by path', async () => {
    const file = path.join(root, 'nested', 'deeper', 'store.sqlite');
    const store = await SqliteStorage.open({ path: file });
    expect(store.kind).toBe('sqlite');
    expect(store.description).toBe(file);
    await store.close();
    expect(withRaw(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('a writer blocked past busyTimeoutMs by another connection rejects with a retryable FLO_STORAGE', async () => {
    const file = freshFile();
    const store = await SqliteStorage.open({ path: file, busyTimeoutMs: 20 });
    const blocker = new Database(file);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const error = await rejectsWith(store.claimPartition(1, 1, 'node-a'), 'FLO_STORAGE');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain(file);
      expect(error.details).toEqual({ sqliteCode: 'SQLITE_BUSY' });
      // Reads do not wait for the writer (WAL).
      await expect(store.fences()).resolves.toEqual([]);
      blocker.exec('ROLLBACK');
      await expect(store.claimPartition(1, 1, 'node-a')).resolves.toEqual({ partition: 1, epoch: 1, owner: 'node-a' });
      const [result] = await store.writeEntities([write({ id: 'x' })]);
      expect(result?.ok).toBe(true);
    } finally {
      blocker.close();
      await store.close();
    }
  });

  it('a path that cannot hold a database rejects with FLO_STORAGE naming it', async () => {
    const notADirectory = path.join(root, 'plain-file');
    writeFileSync(notADirectory, 'x');
    const error = await rejectsWith(SqliteStorage.open({ path: path.join(notADirectory, 'db.sqlite') }), 'FLO_STORAGE');
    expect(error.message).toContain(notADirectory);
    const garbage = path.join(root, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not a database, just some text long enough to be read as a header'.repeat(10));
    await rejectsWith(SqliteStorage.open({ path: garbage }), 'FLO_STORAGE');
  });

  it.each([
    { option: undefined, expected: 'full' },
    { option: 'full', expected: 'full' },
    { option: 'normal', expected: 'normal' },
  ] as const)('synchronous $option opens, sets the pragma to $expected, and stores', async ({ option, expected }) => {
    const file = freshFile();
    const store = await SqliteStorage.open(option === undefined ? { path: file } : { path: file, synchronous: option });
    try {
      expect(await store.synchronous()).toBe(expected);
      await store.claimPartition(1, 1, 'node-a');
      expect((await store.writeEntities([write({ id: 'x' })]))[0]?.ok).toBe(true);
    } finally {
      await store.close();
    }
    expect(withRaw(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('openStorage passes synchronous through', async () => {
    const store = await openStorage({ kind: 'sqlite', path: freshFile(), synchronous: 'normal' });
    try {
      expect(store).toBeInstanceOf(SqliteStorage);
      expect(await (store as SqliteStorage).synchronous()).toBe('normal');
    } finally {
      await store.close();
    }
  });

  it('an unknown synchronous value is FLO_CONFIG_INVALID', async () => {
    for (const bad of ['off', 'FULL', 'extra', 2, '']) {
      await rejectsWith(SqliteStorage.open({ path: freshFile(), synchronous: bad as 'full' }), 'FLO_CONFIG_INVALID');
    }
  });

  it('claims asked for in one turn share one commit, and a refused one leaves the others committed', async () => {
    const file = freshFile();
    const store = await SqliteStorage.open({ path: file });
    // Each commit appends the pages it changed to the WAL: sixty commits of the fence table
    // would append sixty frames or more, one commit only the few pages it touched.
    const walFrames = (): number => Math.max(0, (statSync(`${file}-wal`).size - WAL_HEADER_BYTES) / (PAGE_BYTES + WAL_FRAME_HEADER_BYTES));
    try {
      await store.claimPartition(7, 5, 'node-b');
      const before = walFrames();
      const partitions = Array.from({ length: 60 }, (_, i) => i + 10);
      const claims = partitions.map((p) => store.claimPartition(p, 3, 'node-a'));
      const stale = store.claimPartition(7, 4, 'node-a');
      const fences = await Promise.all(claims);
      await rejectsWith(stale, 'FLO_STALE_EPOCH');
      expect(walFrames() - before).toBeLessThanOrEqual(4);
      expect(fences.map((f) => f.partition)).toEqual(partitions);
      const stored = await store.fences();
      expect(stored.filter((f) => f.owner === 'node-a' && f.epoch === 3).map((f) => f.partition).sort((a, b) => a - b)).toEqual(partitions);
      expect(stored.find((f) => f.partition === 7)).toEqual({ partition: 7, epoch: 5, owner: 'node-b' });
    } finally {
      await store.close();
    }
  });

  it('a negative busyTimeoutMs or a missing path is FLO_CONFIG_INVALID', async () => {
    await rejectsWith(SqliteStorage.open({ path: freshFile(), busyTimeoutMs: -1 }), 'FLO_CONFIG_INVALID');
    await rejectsWith(SqliteStorage.open({ path: '' }), 'FLO_CONFIG_INVALID');
    await rejectsWith(SqliteStorage.open({ path: ':memory:' }), 'FLO_CONFIG_INVALID');
  });
});
