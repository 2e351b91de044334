/**
 * Storage-level timer firing rate: the commits a burst of due timers makes (one
 * single-timer removal per firing, `commitDurable` calls of 256, as the timer service
 * sends them) applied straight to a fresh store, without a node around it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStorage } from '../src/storage/open-storage.js';
import type { DurableCommit } from '../src/storage/durable.js';
import { postgresUrl } from './entities-nodes.js';

/** Commits per `commitDurable` call: the timer service's `durable.timerFireBatchMax`. */
const CALL_COMMITS = 256;
const PARTITIONS = 271;

/** Firings per second of `count` timers spread over every partition. */
export async function storageFiringsPerSec(kind: 'sqlite' | 'postgres', count: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-firings-'));
  const url = postgresUrl();
  const storage = await openStorage(
    kind === 'sqlite' ? { kind: 'sqlite', path: path.join(dir, 'flotilla.db') } : { kind: 'postgres', url: url ?? '', schema: `bench_firings_${process.pid}_${Date.now().toString(36)}` },
  );
  try {
    for (let p = 0; p < PARTITIONS; p++) await storage.claimPartition(p, 1, 'bench');
    const commit = (i: number, parts: Partial<DurableCommit>): DurableCommit => ({ partition: i % PARTITIONS, epoch: 1, writer: 'bench', ...parts });
    const calls = async (make: (i: number) => DurableCommit): Promise<void> => {
      for (let from = 0; from < count; from += CALL_COMMITS) {
        const results = await storage.commitDurable(Array.from({ length: Math.min(CALL_COMMITS, count - from) }, (_, k) => make(from + k)));
        if (!results.every((r) => r.ok)) throw new Error('a bench commit was refused');
      }
    };
    await calls((i) => commit(i, { timersSet: [{ id: `f-${i}`, dueAt: i, kind: 'bench', payload: new Uint8Array() }] }));
    const start = performance.now();
    await calls((i) => commit(i, { timersDelete: [{ id: `f-${i}`, mustExist: true }] }));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
