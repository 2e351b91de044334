/**
 * Runs the counter workloads (`entities-workload.ts`) on Flotilla nodes, and measures
 * activation: what it costs in time and heap to bring 100,000 entities into memory on
 * one node.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { FlotillaNode } from '../src/node/index.js';
import { remoteIds, startBenchCluster, type BenchCounter, type BenchStorage } from './entities-nodes.js';
import {
  SEQUENTIAL_ENTITY_ID,
  WARMUP_ENTITY_ID,
  concurrentEntityId,
  runConcurrent,
  runSequential,
  type CounterWorkloadResults,
  type CounterWorkloadSpec,
  type WorkloadResult,
} from './entities-workload.js';

/** Reads counters back: a benchmark whose calls were lost must not report a number. */
async function checkCounts(caller: FlotillaNode, def: BenchCounter, spec: CounterWorkloadSpec, seqId: string, ids: readonly string[]): Promise<void> {
  const seq = await caller.entity(def, seqId).get();
  const first = await caller.entity(def, ids[0]!).get();
  const last = await caller.entity(def, ids[ids.length - 1]!).get();
  if (seq !== spec.sequentialCalls || first !== spec.callsPerEntity || last !== spec.callsPerEntity) {
    throw new Error(`flotilla counts wrong: sequential ${seq}, first ${first}, last ${last}`);
  }
}

/** Both workloads from `caller` against entities `seqId` and `ids`, after a warm-up. */
async function workloads(
  caller: FlotillaNode,
  def: BenchCounter,
  spec: CounterWorkloadSpec,
  ids: { readonly warmup: string; readonly sequential: string; readonly concurrent: readonly string[] },
): Promise<CounterWorkloadResults> {
  for (let i = 0; i < spec.warmupCalls; i++) await caller.entity(def, ids.warmup).increment(1);
  const sequential = await runSequential(spec.sequentialCalls, () => caller.entity(def, ids.sequential).increment(1));
  const concurrent = await runConcurrent(spec, (e) => caller.entity(def, ids.concurrent[e]!).increment(1));
  await checkCounts(caller, def, spec, ids.sequential, ids.concurrent);
  return { sequential, concurrent };
}

/**
 * Both counter workloads on one node whose entities live in `storage`. A PostgreSQL
 * database outlives the run, so there the ids carry a per-run prefix (fresh entities,
 * counts that start at zero); the other stores are new for each run.
 */
export async function runFlotillaSameNode(storage: BenchStorage, def: BenchCounter, spec: CounterWorkloadSpec): Promise<CounterWorkloadResults> {
  const cluster = await startBenchCluster(1, storage);
  try {
    const prefix = storage === 'postgres' ? `run${Date.now().toString(36)}-` : '';
    const ids = Array.from({ length: spec.entityCount }, (_, i) => prefix + concurrentEntityId(i));
    return await workloads(cluster.nodes[0]!, def, spec, { warmup: prefix + WARMUP_ENTITY_ID, sequential: prefix + SEQUENTIAL_ENTITY_ID, concurrent: ids });
  } finally {
    await cluster.close();
  }
}

/**
 * Both counter workloads across nodes: `nodeCount` in-process nodes, every call made on
 * the first node to an entity another node owns (each call crosses TCP both ways).
 */
export async function runFlotillaAcrossNodes(
  nodeCount: number,
  storage: BenchStorage,
  def: BenchCounter,
  spec: CounterWorkloadSpec,
): Promise<CounterWorkloadResults> {
  const cluster = await startBenchCluster(nodeCount, storage);
  try {
    const caller = cluster.nodes[0]!;
    const [warmup, sequential] = remoteIds(caller, def.type, 'remote-single', 2);
    const concurrent = remoteIds(caller, def.type, 'remote', spec.entityCount);
    return await workloads(caller, def, spec, { warmup: warmup!, sequential: sequential!, concurrent });
  } finally {
    await cluster.close();
  }
}

/** What activating many entities on one node cost. */
export interface ActivationResult {
  /** The activation calls (one `get` per entity), as a workload. */
  readonly workload: WorkloadResult;
  /** Entities active on the node afterwards. */
  readonly active: number;
  /** Heap growth per active entity, bytes (after full GCs when `gcExact`). */
  readonly heapBytesPerEntity: number;
  /** Resident set growth per active entity, bytes. */
  readonly rssBytesPerEntity: number;
  /** Whether the heap was measured after forced full GCs (else raw `memoryUsage` deltas). */
  readonly gcExact: boolean;
}

/** A full GC, when the runtime lets us have one (via `--expose-gc`, or turned on here). */
function gcFunction(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function settleHeap(gc: (() => void) | undefined): NodeJS.MemoryUsage {
  if (gc !== undefined) for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

/**
 * Activates `count` distinct entities of `def` on one node (a `get` each, `inFlightMax`
 * at a time) and measures the time and the memory they hold once active.
 */
export async function runActivation(storage: BenchStorage, def: BenchCounter, count: number, inFlightMax: number): Promise<ActivationResult> {
  // Room above `count` so nothing is evicted while measuring, and no passivation mid-run.
  const cluster = await startBenchCluster(1, storage, { activeEntitiesMax: count + inFlightMax, passivateAfterMs: 3_600_000 });
  try {
    const node = cluster.nodes[0]!;
    await node.entity(def, WARMUP_ENTITY_ID).get();
    const gc = gcFunction();
    const before = settleHeap(gc);
    const spec: CounterWorkloadSpec = { sequentialCalls: 0, entityCount: count, callsPerEntity: 1, inFlightMax, warmupCalls: 0 };
    const start = performance.now();
    const workload = await runConcurrent(spec, (e) => node.entity(def, concurrentEntityId(e)).get());
    const elapsedMs = performance.now() - start;
    const after = settleHeap(gc);
    const active = node.activeEntities().filter((a) => a.type === def.type && a.id !== WARMUP_ENTITY_ID).length;
    return {
      workload: { ...workload, seconds: elapsedMs / 1000 },
      active,
      heapBytesPerEntity: (after.heapUsed - before.heapUsed) / count,
      rssBytesPerEntity: (after.rss - before.rss) / count,
      gcExact: gc !== undefined,
    };
  } finally {
    await cluster.close();
  }
}
