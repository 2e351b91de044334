/**
 * Nodes and workloads of the durable-execution benchmarks: one node running a bench
 * workflow (each step one journaled activity) and a timer kind that records how late each
 * timer fired, on a fresh SQLite file or a fresh PostgreSQL schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defineWorkflow, startNode } from '../src/index.js';
import type { StorageOptions } from '../src/storage/storage.js';
import type { RunningNode } from '../src/node/running-node.js';
import { postgresUrl } from './entities-nodes.js';

/** Where the bench node keeps its data. */
export type DurableBenchStorage = 'sqlite' | 'sqlite-normal' | 'postgres';

/** `steps` activities, each returning its index. */
export const StepsWorkflow = defineWorkflow('bench.steps', async (ctx, input: { steps: number }) => {
  let sum = 0;
  for (let i = 0; i < input.steps; i++) sum += await ctx.activity(`s${i}`, () => i);
  return sum;
});

/** Sleepers that reached their sleep (the activity before it ran). */
export const sleepers = { arrived: 0 };

/** One step, then a durable sleep until `wakeAt` (the hosts' clock), then done: a burst of wake-ups when many share `wakeAt`. */
export const SleepyWorkflow = defineWorkflow('bench.sleepy', async (ctx, input: { wakeAt: number }) => {
  await ctx.activity('arrive', () => {
    sleepers.arrived++;
    return true;
  });
  const now = await ctx.now();
  await ctx.sleep('nap', Math.max(0, input.wakeAt - now));
  return 1;
});

/** How late each bench timer fired (fire time minus due time, ms), in firing order. */
export const timerLags: number[] = [];

/** A started bench node and how to dispose of it. */
export interface DurableBench {
  readonly node: RunningNode;
  close(): Promise<void>;
}

function storageOf(kind: DurableBenchStorage, dir: string): StorageOptions {
  if (kind === 'sqlite') return { kind: 'sqlite', path: path.join(dir, 'flotilla.db') };
  if (kind === 'sqlite-normal') return { kind: 'sqlite', path: path.join(dir, 'flotilla.db'), synchronous: 'normal' };
  const url = postgresUrl();
  if (url === undefined) throw new Error('FLOTILLA_TEST_POSTGRES_URL is not set');
  return { kind: 'postgres', url, schema: `bench_durable_${process.pid}_${Date.now().toString(36)}` };
}

/** One node owning every partition, with the bench workflow and timer kind. */
export async function startDurableBench(kind: DurableBenchStorage): Promise<DurableBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-durable-'));
  const node = (await startNode({
    nodeId: 'd1',
    dev: true,
    listen: '127.0.0.1:0',
    logLevel: 'silent',
    storage: storageOf(kind, dir),
    workflows: [StepsWorkflow, SleepyWorkflow],
    timerKinds: [{ kind: 'bench.lag', fired: (timer, firedAt) => timerLags.push(firedAt - timer.dueAt) }],
    durable: { workflowWaitMs: 600_000 },
  })) as RunningNode;
  const deadline = Date.now() + 60_000;
  while ((node.partitionTable()?.version ?? 0) === 0) {
    if (Date.now() > deadline) throw new Error('bench node has no partition table');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    node,
    close: async () => {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Run `fn` for each of `count` items with at most `inFlight` at once. */
export async function pooled(count: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/** Milliseconds `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
