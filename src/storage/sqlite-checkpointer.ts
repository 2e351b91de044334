/**
 * WAL checkpoints on a worker thread. better-sqlite3 is synchronous, so a checkpoint that
 * SQLite runs inside a commit (auto-checkpoint) stalls the node's event loop for as long
 * as it takes to copy the WAL into the database and fsync it. The serving connection turns
 * auto-checkpoint off and this worker, with its own connection to the same file, runs
 * PASSIVE checkpoints (they never take the write lock) once the WAL passes a size, and a
 * RESTART one (a short wait for the writer) when PASSIVE ones cannot catch up. The WAL
 * itself is durable, so a worker that dies loses nothing: it is logged and started again.
 */
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
const POLL_MS = 50;
const RESTART_DELAY_MS = 1000;

// Plain JavaScript evaluated in the worker, so it runs the same under tsx, vitest and the
// compiled package. The driver path comes from the main thread's resolution.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
db.pragma('wal_autocheckpoint = 0');
const walSize = () => { try { return statSync(workerData.file + '-wal').size; } catch { return 0; } };
let lastSize = -1;
let pending = false;
const tick = () => {
  const size = walSize();
  if (size <= workerData.checkpointBytes) { lastSize = size; return; }
  // A checkpoint that backfilled every frame leaves the file at its size until the next
  // writer resets it: do not repeat it while nothing was appended.
  if (size === lastSize && !pending) return;
  let mode = size > workerData.truncateBytes ? 'TRUNCATE' : 'PASSIVE';
  let [row] = db.pragma('wal_checkpoint(' + mode + ')');
  // Under steady writes a PASSIVE checkpoint never catches the WAL's end, and the WAL is
  // only reset once every frame is back in the database. Past twice the limit a RESTART
  // copies what the PASSIVE one left (a few frames, so the writer waits briefly) and makes
  // the next commit start the WAL over.
  if (mode === 'PASSIVE' && (row.busy !== 0 || row.checkpointed < row.log) && size > 2 * workerData.checkpointBytes) {
    mode = 'RESTART';
    [row] = db.pragma('wal_checkpoint(RESTART)');
  }
  pending = row.busy !== 0 || row.checkpointed < row.log;
  lastSize = size;
  parentPort.postMessage({ mode, size, log: row.log, checkpointed: row.checkpointed, busy: row.busy });
};
const timer = setInterval(() => {
  try { tick(); } catch (error) { parentPort.postMessage({ error: String(error && error.message || error) }); }
}, workerData.pollMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The checkpoint worker of one SQLite file; `stop` before closing the serving connection. */
export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly driver = createRequire(import.meta.url).resolve('better-sqlite3');

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.start();
  }

  /** Stop the worker and wait until its connection is closed. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Unreferenced, the worker's exit would not keep a process alive that awaits it.
    worker.ref();
    worker.postMessage('stop');
    await exited;
  }

  private start(): void {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file: this.file,
        driver: this.driver,
        busyTimeoutMs: this.busyTimeoutMs,
        checkpointBytes: WAL_CHECKPOINT_BYTES,
        truncateBytes: WAL_TRUNCATE_BYTES,
        pollMs: POLL_MS,
      },
    });
    // The node's lifetime is the store's, not the worker's: close() stops it explicitly.
    worker.unref();
    this.worker = worker;
    worker.on('message', (m: { error?: string; mode?: string; size?: number; busy?: number }) => {
      if (m.error !== undefined) this.logger.warn({ file: this.file, error: m.error }, 'sqlite WAL checkpoint failed');
      else if (m.mode === 'TRUNCATE') this.logger.warn({ file: this.file, walBytes: m.size, busy: m.busy }, 'sqlite WAL far over its limit: truncating checkpoint');
      else this.logger.debug({ file: this.file, ...m }, 'sqlite WAL checkpoint');
    });
    worker.on('error', (error) => this.logger.error({ file: this.file, error: error.message }, 'sqlite checkpoint worker crashed'));
    worker.on('exit', (code) => {
      if (this.stopped || this.worker !== worker) return;
      this.worker = undefined;
      this.logger.error({ file: this.file, code }, 'sqlite checkpoint worker exited; restarting');
      this.restartTimer = setTimeout(() => {
        if (!this.stopped) this.start();
      }, RESTART_DELAY_MS);
      this.restartTimer.unref();
    });
  }
}
