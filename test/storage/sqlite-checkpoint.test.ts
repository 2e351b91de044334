// WAL checkpoints run on a worker thread with its own connection: the serving connection
// never checkpoints inside a commit, yet the WAL file stays bounded, and close stops the
// worker (its connection closed first, so the last close removes the WAL file).
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WAL_CHECKPOINT_BYTES, WAL_WORKER_START_BYTES } from '../../src/storage/sqlite-checkpointer.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { write } from './contract-support.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-sqlite-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const walSize = (file: string): number => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
const CHUNK = 64 * 1024;

describe('sqlite WAL checkpoint worker', () => {
  it('resets the WAL while the serving connection keeps committing, and close stops the worker', async () => {
    const file = path.join(root, 'a', 'flotilla.sqlite');
    const storage = await SqliteStorage.open({ path: file, synchronous: 'normal' });
    await storage.claimPartition(1, 1, 'node-a');
    const versions = new Map<string, number>();
    let written = 0;
    let peak = 0;
    let resets = 0;
    let previous = 0;
    // Write until the WAL has been reset (shrunk) several times, with a deadline: without
    // a checkpoint anywhere the file would only grow.
    const deadline = Date.now() + 60_000;
    let i = 0;
    while (resets < 3 && Date.now() < deadline) {
      const id = `e-${i++ % 64}`;
      const expected = versions.get(id) ?? 0;
      const [result] = await storage.writeEntities([write({ id, state: new Uint8Array(CHUNK).fill(i & 0xff), expectedVersion: expected })]);
      expect(result?.ok).toBe(true);
      versions.set(id, expected + 1);
      written += CHUNK;
      const size = walSize(file);
      if (size < previous) resets++;
      previous = size;
      peak = Math.max(peak, size);
      // Give the worker turns on a loaded machine without sleeping for a fixed time.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(resets).toBeGreaterThanOrEqual(3);
    expect(written).toBeGreaterThan(WAL_CHECKPOINT_BYTES);
    // How far the WAL grows between two polls depends on the write rate (this loop writes
    // far faster than a node does); what matters is that it is reset, not only appended.
    expect(peak).toBeGreaterThan(0);
    // Every write is still there after the checkpoints.
    for (const [id, version] of versions) expect((await storage.loadEntity('counter', id))?.version).toBe(version);
    await storage.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const reopened = await SqliteStorage.open({ path: file });
    for (const [id, version] of versions) expect((await reopened.loadEntity('counter', id))?.version).toBe(version);
    await reopened.close();
  }, 90_000);

  it('checkpoints a WAL it did not write: commits of a connection that never checkpoints are copied back and the WAL reset', async () => {
    const file = path.join(root, 'b', 'flotilla.sqlite');
    const storage = await SqliteStorage.open({ path: file, synchronous: 'normal' });
    const raw = new Database(file);
    raw.pragma('wal_autocheckpoint = 0');
    raw.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    const insert = raw.prepare<[Buffer]>('INSERT INTO blobs (data) VALUES (?)');
    let previous = 0;
    let resets = 0;
    const deadline = Date.now() + 60_000;
    while (resets < 2 && Date.now() < deadline) {
      insert.run(Buffer.alloc(CHUNK, 7));
      const size = walSize(file);
      if (size < previous) resets++;
      previous = size;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(resets).toBeGreaterThanOrEqual(2);
    raw.close();
    await storage.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
  }, 90_000);
});

describe('sqlite WAL checkpoint worker, shared and started on demand', () => {
  // A worker thread is an OS thread of this process: /proc/self/task lists it.
  const threads = (): number => readdirSync('/proc/self/task').length;

  it.skipIf(!existsSync('/proc/self/task'))('starts no thread for stores whose WAL stays small, one for all once a WAL grows, and stops it with the last store', async () => {
    const before = threads();
    const first = await SqliteStorage.open({ path: path.join(root, 'c1', 'flotilla.sqlite'), synchronous: 'normal' });
    const others = await Promise.all([2, 3, 4].map((n) => SqliteStorage.open({ path: path.join(root, `c${n}`, 'flotilla.sqlite') })));
    await first.claimPartition(1, 1, 'node-a');
    // Open, migrated and written to, with a WAL far below the start size: no worker.
    expect(walSize(path.join(root, 'c1', 'flotilla.sqlite'))).toBeLessThan(WAL_WORKER_START_BYTES);
    expect(threads()).toBe(before);
    // Grow one WAL past the start size, then wait (with a deadline) for the worker's thread.
    let i = 0;
    while (walSize(path.join(root, 'c1', 'flotilla.sqlite')) <= WAL_WORKER_START_BYTES) {
      const [result] = await first.writeEntities([write({ id: `e-${i}`, state: new Uint8Array(CHUNK).fill(i & 0xff), expectedVersion: 0 })]);
      expect(result?.ok).toBe(true);
      i++;
    }
    const deadline = Date.now() + 30_000;
    while (threads() === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const withWorker = threads();
    expect(withWorker).toBeGreaterThan(before);
    await Promise.all(others.map((s) => s.close()));
    expect(threads()).toBe(withWorker);
    for (const n of [2, 3, 4]) expect(existsSync(path.join(root, `c${n}`, 'flotilla.sqlite-wal'))).toBe(false);
    await first.close();
    expect(existsSync(path.join(root, 'c1', 'flotilla.sqlite-wal'))).toBe(false);
  }, 60_000);
});
