/**
 * WAL checkpoints on a worker thread. better-sqlite3 is synchronous, so a checkpoint that
 * SQLite runs inside a commit (auto-checkpoint) stalls the node's event loop for as long
 * as it takes to copy the WAL into the database and fsync it. The serving connection turns
 * auto-checkpoint off and a worker, with its own connection to the same file, runs
 * PASSIVE checkpoints (they never take the write lock) once the WAL passes a size, and a
 * RESTART one (a short wait for the writer) when PASSIVE ones cannot catch up. The WAL
 * itself is durable, so a worker that dies loses nothing: it is logged and started again.
 *
 * A worker thread is a whole V8 isolate (about 13 MiB resident), so one worker per process
 * serves every open SQLite file: a process with several stores pays for it once, and a
 * process pays for it only once a WAL grows: until then the main thread looks at the WAL
 * sizes once a second (a `stat` per file), and a node whose store sees few writes never
 * starts the worker.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger.js';

/** WAL size past which the worker checkpoints; also the size a reset WAL is truncated to. */
export const WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024;
/**
 * Past this a PASSIVE checkpoint is not keeping up (readers pin old frames, or writes
 * outrun it): a TRUNCATE checkpoint waits for the writer and resets the file, trading one
 * stall for a bounded WAL.
 */
export const WAL_TRUNCATE_BYTES = 16 * WAL_CHECKPOINT_BYTES;
/**
 * WAL size past which the worker starts: half the checkpoint size, so that at ordinary
 * write rates the worker is up before the WAL needs its first checkpoint.
 */
export const WAL_WORKER_START_BYTES = WAL_CHECKPOINT_BYTES / 2;
/** How often the main thread looks at the WAL sizes while no worker runs, ms. */
const WATCH_MS = 1000;
const POLL_MS = 50;
/** A checkpoint failure that keeps repeating is logged again after this long. */
const ERROR_QUIET_MS = 30_000;
const RESTART_DELAY_MS = 1000;

// Plain JavaScript evaluated in the worker, so it runs the same under tsx, vitest and the
// compiled package. The driver path comes from the main thread's resolution.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const files = new Map();
const walSize = (file) => { try { return statSync(file + '-wal').size; } catch { return 0; } };
const tick = (id, f) => {
  const size = walSize(f.file);
  if (size <= workerData.checkpointBytes) { f.lastSize = size; return; }
  // A checkpoint that backfilled every frame leaves the file at its size until the next
  // writer resets it: do not repeat it while nothing was appended.
  if (size === f.lastSize && !f.pending) return;
  let mode = size > workerData.truncateBytes ? 'TRUNCATE' : 'PASSIVE';
  let [row] = f.db.pragma('wal_checkpoint(' + mode + ')');
  // Under steady writes a PASSIVE checkpoint never catches the WAL's end, and the WAL is
  // only reset once every frame is back in the database. Past twice the limit a RESTART
  // copies what the PASSIVE one left (a few frames, so the writer waits briefly) and makes
  // the next commit start the WAL over.
  if (mode === 'PASSIVE' && (row.busy !== 0 || row.checkpointed < row.log) && size > 2 * workerData.checkpointBytes) {
    mode = 'RESTART';
    [row] = f.db.pragma('wal_checkpoint(RESTART)');
  }
  f.pending = row.busy !== 0 || row.checkpointed < row.log;
  f.lastSize = size;
  parentPort.postMessage({ id, mode, size, log: row.log, checkpointed: row.checkpointed, busy: row.busy });
};
// A failure that repeats every poll (a full disk, a lock held for long) is reported when
// it first happens, when its text changes, and then once per quiet period, not 20 times a second.
const report = (id, f, error) => {
  const text = String(error && error.message || error);
  const now = Date.now();
  if (text === f.lastError && now - f.lastErrorAt < workerData.errorQuietMs) return;
  f.lastError = text;
  f.lastErrorAt = now;
  parentPort.postMessage({ id, error: text });
};
const timer = setInterval(() => {
  for (const [id, f] of files) {
    try { tick(id, f); f.lastError = undefined; } catch (error) { report(id, f, error); }
  }
}, workerData.pollMs);
parentPort.on('message', (m) => {
  if (m.op === 'add') {
    try {
      const db = new Database(m.file, { timeout: m.busyTimeoutMs, fileMustExist: true });
      db.pragma('wal_autocheckpoint = 0');
      files.set(m.id, { db, file: m.file, lastSize: -1, pending: false, lastError: undefined, lastErrorAt: 0 });
    } catch (error) { parentPort.postMessage({ id: m.id, error: String(error && error.message || error) }); }
  } else if (m.op === 'remove') {
    const f = files.get(m.id);
    files.delete(m.id);
    if (f !== undefined) f.db.close();
    parentPort.postMessage({ id: m.id, removed: true });
  } else if (m.op === 'stop') {
    clearInterval(timer);
    for (const f of files.values()) f.db.close();
    parentPort.close();
  }
});
`;

interface Entry {
  readonly file: string;
  readonly busyTimeoutMs: number;
  readonly logger: Logger;
}

interface WorkerReport {
  readonly id: number;
  readonly error?: string;
  readonly removed?: boolean;
  readonly mode?: string;
  readonly size?: number;
  readonly busy?: number;
}

/** The process's checkpoint worker and the files it serves. */
class CheckpointWorker {
  private worker: Worker | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly entries = new Map<number, Entry>();
  private readonly removals = new Map<number, () => void>();
  private nextId = 1;
  private readonly driver = createRequire(import.meta.url).resolve('better-sqlite3');

  add(entry: Entry): number {
    const id = this.nextId++;
    this.entries.set(id, entry);
    if (this.worker === undefined) {
      if (this.restartTimer === undefined) this.watch();
    } else {
      this.worker.postMessage({ op: 'add', id, file: entry.file, busyTimeoutMs: entry.busyTimeoutMs });
    }
    return id;
  }

  /** Until a WAL passes `WAL_WORKER_START_BYTES`, no worker: a look at the sizes once a second. */
  private watch(): void {
    if (this.watchTimer !== undefined) return;
    this.watchTimer = setInterval(() => {
      for (const entry of this.entries.values()) {
        if (walBytes(entry.file) <= WAL_WORKER_START_BYTES) continue;
        this.unwatch();
        this.start();
        return;
      }
    }, WATCH_MS);
    this.watchTimer.unref();
  }

  private unwatch(): void {
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  /** Resolves once the worker's connection to the file is closed. */
  async remove(id: number): Promise<void> {
    if (!this.entries.delete(id)) return;
    const worker = this.worker;
    if (this.entries.size === 0) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.unwatch();
      this.worker = undefined;
      if (worker === undefined) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Unreferenced, the worker's exit would not keep a process alive that awaits it.
      worker.ref();
      worker.postMessage({ op: 'stop' });
      await exited;
      return;
    }
    if (worker === undefined) return;
    const removed = new Promise<void>((resolve) => this.removals.set(id, resolve));
    worker.ref();
    worker.postMessage({ op: 'remove', id });
    await removed;
  }

  private start(): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: this.driver,
        checkpointBytes: WAL_CHECKPOINT_BYTES,
        truncateBytes: WAL_TRUNCATE_BYTES,
        pollMs: POLL_MS,
        errorQuietMs: ERROR_QUIET_MS,
      },
    });
    // The process's lifetime is its stores', not the worker's: the last close stops it.
    worker.unref();
    this.worker = worker;
    for (const [id, entry] of this.entries) worker.postMessage({ op: 'add', id, file: entry.file, busyTimeoutMs: entry.busyTimeoutMs });
    worker.on('message', (m: WorkerReport) => this.onReport(worker, m));
    worker.on('error', (error) => this.anyLogger()?.error({ error: error.message }, 'sqlite checkpoint worker crashed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.settleRemovals();
      if (this.entries.size === 0) return;
      this.anyLogger()?.error({ code, files: [...this.entries.values()].map((e) => e.file) }, 'sqlite checkpoint worker exited; restarting');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.entries.size > 0 && this.worker === undefined) this.start();
      }, RESTART_DELAY_MS);
      this.restartTimer.unref();
    });
  }

  private onReport(worker: Worker, m: WorkerReport): void {
    if (m.removed === true) {
      const resolve = this.removals.get(m.id);
      this.removals.delete(m.id);
      if (this.removals.size === 0) worker.unref();
      resolve?.();
      return;
    }
    const entry = this.entries.get(m.id);
    if (entry === undefined) return;
    if (m.error !== undefined) entry.logger.warn({ file: entry.file, error: m.error }, 'sqlite WAL checkpoint failed');
    else if (m.mode === 'TRUNCATE') entry.logger.warn({ file: entry.file, walBytes: m.size, busy: m.busy }, 'sqlite WAL far over its limit: truncating checkpoint');
    else entry.logger.debug({ file: entry.file, ...m }, 'sqlite WAL checkpoint');
  }

  /** A worker that died closed its connections with it: nobody waits on them any more. */
  private settleRemovals(): void {
    for (const resolve of this.removals.values()) resolve();
    this.removals.clear();
  }

  private anyLogger(): Logger | undefined {
    for (const entry of this.entries.values()) return entry.logger;
    return undefined;
  }
}

/** Size of `file`'s WAL in bytes; 0 when there is none (or it cannot be read: the worker reports real trouble). */
function walBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

const shared = new CheckpointWorker();

/** One SQLite file's place on the process's checkpoint worker; `stop` before closing the serving connection. */
export class SqliteCheckpointer {
  private id: number | undefined;

  constructor(file: string, busyTimeoutMs: number, logger: Logger) {
    this.id = shared.add({ file, busyTimeoutMs, logger });
  }

  /** Take the file off the worker and wait until the worker's connection to it is closed. Idempotent. */
  async stop(): Promise<void> {
    const id = this.id;
    this.id = undefined;
    if (id !== undefined) await shared.remove(id);
  }
}
