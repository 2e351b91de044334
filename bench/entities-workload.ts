/**
 * The entity workloads both sides of the Effect Cluster comparison run, defined once so
 * Flotilla and Effect do exactly the same calls in the same order: sequential calls to
 * one entity, and N entities x M calls with a bounded number in flight. Also the result
 * shape and the Promise-based drivers the Flotilla side uses.
 */
import { performance } from 'node:perf_hooks';
import { summarize } from './harness.js';

/** Storage mode of a run: nothing durable, or every call durable in SQLite before its reply. */
export type EntityBenchMode = 'memory' | 'sqlite';

/** Sizes of the two counter workloads. */
export interface CounterWorkloadSpec {
  /** Sequential workload: calls to one entity, each awaited before the next. */
  readonly sequentialCalls: number;
  /** Concurrent workload: distinct entities (fresh, so their activation is included). */
  readonly entityCount: number;
  /** Concurrent workload: calls made to each entity. */
  readonly callsPerEntity: number;
  /** Concurrent workload: most calls outstanding at once. */
  readonly inFlightMax: number;
  /** Sequential calls to a separate entity before measuring (JIT, connections, activation paths). */
  readonly warmupCalls: number;
}

/** The workloads of the issue: sequential, and 1,000 entities x 20 calls with 256 in flight. */
export const COUNTER_WORKLOAD_DEFAULTS: Readonly<Record<EntityBenchMode, CounterWorkloadSpec>> = {
  memory: { sequentialCalls: 50_000, entityCount: 1_000, callsPerEntity: 20, inFlightMax: 256, warmupCalls: 5_000 },
  sqlite: { sequentialCalls: 2_000, entityCount: 1_000, callsPerEntity: 20, inFlightMax: 256, warmupCalls: 200 },
};

/**
 * Fraction of the workload sizes to run, from `FLOTILLA_BENCH_ENTITY_SCALE` (default 1):
 * smoke runs of the benchmark code use e.g. 0.05. Every table labels the sizes it ran.
 */
export function workloadScale(): number {
  const scale = Number(process.env.FLOTILLA_BENCH_ENTITY_SCALE ?? 1);
  return Number.isFinite(scale) && scale > 0 && scale <= 1 ? scale : 1;
}

/** `spec` with every call count scaled by `scale` (at least one call each; in flight unchanged). */
export function scaleSpec(spec: CounterWorkloadSpec, scale = workloadScale()): CounterWorkloadSpec {
  const scaled = (n: number): number => (n === 0 ? 0 : Math.max(1, Math.round(n * scale)));
  return {
    ...spec,
    sequentialCalls: scaled(spec.sequentialCalls),
    entityCount: scaled(spec.entityCount),
    warmupCalls: scaled(spec.warmupCalls),
  };
}

const count = (v: number): string => v.toLocaleString('en-US');

/** Which of the two workloads. */
export type WorkloadKind = 'sequential' | 'concurrent';

/** The name of a workload as `spec` sizes it (without its call count). */
export function workloadLabel(spec: CounterWorkloadSpec, kind: WorkloadKind): string {
  return kind === 'sequential' ? 'sequential, 1 entity' : `${count(spec.entityCount)} entities @ ${count(spec.inFlightMax)} in flight`;
}

/** The calls a workload makes as `spec` sizes it: `2,000`, or `20,000 (1,000 x 20)`. */
export function callsLabel(spec: CounterWorkloadSpec, kind: WorkloadKind): string {
  if (kind === 'sequential') return count(spec.sequentialCalls);
  return `${count(spec.entityCount * spec.callsPerEntity)} (${count(spec.entityCount)} x ${count(spec.callsPerEntity)})`;
}

/** What one workload measured. */
export interface WorkloadResult {
  /** Calls completed (all of them: a failed call aborts the workload). */
  readonly calls: number;
  /** Wall time of the whole workload, s. */
  readonly seconds: number;
  readonly callsPerSec: number;
  /** Median latency of one call, from issue to reply, ms. */
  readonly p50Ms: number;
  /** 99th percentile latency of one call, ms. */
  readonly p99Ms: number;
}

/** Both workloads of one mode. */
export interface CounterWorkloadResults {
  readonly sequential: WorkloadResult;
  readonly concurrent: WorkloadResult;
}

/** Id of the entity the sequential workload calls. */
export const SEQUENTIAL_ENTITY_ID = 'seq-0';
/** Id of the entity warm-up calls go to (never measured). */
export const WARMUP_ENTITY_ID = 'warm-0';

/** Id of the i-th entity of the concurrent workload. */
export function concurrentEntityId(index: number): string {
  return `counter-${index}`;
}

/**
 * Entity index of the k-th call of the concurrent workload. Calls go round-robin over the
 * entities (every entity's first call, then every entity's second call, ...) so the calls
 * in flight hit distinct entities instead of queueing behind one mailbox.
 */
export function concurrentCallEntity(callIndex: number, spec: CounterWorkloadSpec): number {
  return callIndex % spec.entityCount;
}

/** Result of a workload from its latency samples (ms) and its wall time (ms). */
export function workloadResult(samplesMs: ArrayLike<number>, elapsedMs: number): WorkloadResult {
  const samples = Array.from(samplesMs);
  const stats = summarize(samples);
  const seconds = elapsedMs / 1000;
  return { calls: samples.length, seconds, callsPerSec: samples.length / seconds, p50Ms: stats.p50, p99Ms: stats.p99 };
}

/** Runs `calls` awaited calls one after another and measures each. */
export async function runSequential(calls: number, call: () => Promise<unknown>): Promise<WorkloadResult> {
  const samples = new Float64Array(calls);
  const start = performance.now();
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call();
    samples[i] = performance.now() - t0;
  }
  return workloadResult(samples, performance.now() - start);
}

/**
 * Runs the concurrent workload: `entityCount * callsPerEntity` calls in round-robin entity
 * order, with `inFlightMax` workers each taking the next call when its previous one replied.
 */
export async function runConcurrent(spec: CounterWorkloadSpec, call: (entityIndex: number) => Promise<unknown>): Promise<WorkloadResult> {
  const total = spec.entityCount * spec.callsPerEntity;
  const samples = new Float64Array(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      const t0 = performance.now();
      await call(concurrentCallEntity(index, spec));
      samples[index] = performance.now() - t0;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(spec.inFlightMax, total) }, worker));
  return workloadResult(samples, performance.now() - start);
}
