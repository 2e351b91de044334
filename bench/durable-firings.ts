/**
 * Storage-level timer firing rate: the commits a burst of due timers makes (one commit
 * per firing, `commitDurable` calls of 256, as the timer service sends them) applied
 * straight to a fresh store, without a node around it. Plain firings only remove their
 * timer; workflow wake-ups also set the workflow running and journal the sleep's step.
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

/** What each firing commit carries: only the timer's removal, or a workflow's wake-up too. */
export type FiringShape = 'plain' | 'wake';

/** Firings per second of `count` timers spread over every partition. */
export async function storageFiringsPerSec(kind: 'sqlite' | 'postgres', count: number, shape: FiringShape = 'plain'): Promise<number> {
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
    const input = new Uint8Array(16);
    const workflow = (i: number, status: 'sleeping' | 'running') => ({ id: `w-${i}`, name: 'bench.sleep', status, input, output: undefined });
    const step = { name: 'sleep:nap', outcome: new Uint8Array([0x91, 0xc0]) };
    // A sleeping workflow: its first step journaled, its sleep's timer pending.
    await calls((i) =>
      commit(i, {
        timersSet: [{ id: `f-${i}`, dueAt: i, kind: 'bench', payload: new Uint8Array() }],
        ...(shape === 'wake' ? { workflow: workflow(i, 'sleeping'), journal: { workflowId: `w-${i}`, append: [{ seq: 0, name: 'a0', outcome: step.outcome }] } } : {}),
      }),
    );
    const start = performance.now();
    await calls((i) =>
      commit(i, {
        timersDelete: [{ id: `f-${i}`, mustExist: true }],
        ...(shape === 'wake' ? { workflow: workflow(i, 'running'), journal: { workflowId: `w-${i}`, append: [{ seq: 1, ...step }] } } : {}),
      }),
    );
    return count / ((performance.now() - start) / 1000);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
