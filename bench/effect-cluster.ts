/**
 * The Effect Cluster side of the entity comparison: the same counter workloads as
 * Flotilla's (`entities-workload.ts`) on `@effect/cluster` 0.60 with `effect` 3.22, in
 * memory (`TestRunner.layer`) and on a temporary SQLite file (`SingleRunner.layer` through
 * `@effect/sql-sqlite-node`), so both sides are measured in the same run.
 *
 * Effect journals messages and replies, never entity state, so on SQLite the counter's
 * handler writes its new value itself before it replies, and loads it on activation. Two
 * variants of `Increment` run there:
 * - `plain`: a plain RPC. The only commit per call is the handler's upsert, so the state
 *   is durable before the reply, as Flotilla's; the request itself is not journaled (a
 *   crash before the handler ran loses the call, and the caller sees an error).
 * - `persisted`: annotated `ClusterSchema.Persisted`, a durable mailbox. Per call Effect
 *   commits four times: the request, the storage poll marking it read, the handler's
 *   state upsert, and the reply with the request marked processed; a request survives a
 *   crash and its reply is kept. More than Flotilla guarantees, at three extra commits.
 * The connection runs `synchronous=FULL` by default, like Flotilla's SQLite storage, so
 * each commit is on disk when it returns; `NORMAL` (Effect's own default through
 * better-sqlite3) is there to reproduce the usual figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClusterSchema, Entity, SingleRunner, TestRunner } from '@effect/cluster';
import { Rpc } from '@effect/rpc';
import { SqlClient } from '@effect/sql';
import { SqliteClient } from '@effect/sql-sqlite-node';
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Schema } from 'effect';
import {
  COUNTER_WORKLOAD_DEFAULTS,
  SEQUENTIAL_ENTITY_ID,
  WARMUP_ENTITY_ID,
  concurrentCallEntity,
  concurrentEntityId,
  workloadResult,
  type CounterWorkloadResults,
  type CounterWorkloadSpec,
  type EntityBenchMode,
} from './entities-workload.js';

/** Package versions measured, for the notes (read from the installed packages). */
export const EFFECT_CLUSTER_VERSIONS = 'effect 3.22, @effect/cluster 0.60, @effect/sql-sqlite-node 0.53';

/** Table the persisted counter keeps its state in (beside Effect's own message tables). */
const COUNTER_TABLE = 'bench_counter_state';

const incrementFields = { payload: { amount: Schema.Number }, success: Schema.Number } as const;

/** In-memory counter: plain RPCs, state in the entity's memory only. */
const MemoryIncrement = Rpc.make('Increment', incrementFields);
const MemoryGetCount = Rpc.make('GetCount', { success: Schema.Number });
const MemoryCounter = Entity.make('MemoryCounter', [MemoryIncrement, MemoryGetCount]);

/** Persisted counter: `Increment` is a persisted message (journaled request and reply). */
const PersistedIncrement = Rpc.make('Increment', incrementFields).annotate(ClusterSchema.Persisted, true);
const PersistedGetCount = Rpc.make('GetCount', { success: Schema.Number });
const PersistedCounter = Entity.make('PersistedCounter', [PersistedIncrement, PersistedGetCount]);

/** Plain-RPC counter whose handler still saves its state before replying. */
const PlainIncrement = Rpc.make('Increment', incrementFields);
const PlainGetCount = Rpc.make('GetCount', { success: Schema.Number });
const PlainDurableCounter = Entity.make('PlainDurableCounter', [PlainIncrement, PlainGetCount]);

/** How `Increment` travels on SQLite (see the file comment). */
export type EffectSqliteVariant = 'plain' | 'persisted';

/** The counter entity of each SQLite variant; both share one handler. */
const SQLITE_COUNTERS = { plain: PlainDurableCounter, persisted: PersistedCounter } as const;

const MemoryCounterLive = MemoryCounter.toLayer(
  Effect.sync(() => {
    let count = 0;
    return MemoryCounter.of({
      Increment: ({ payload }) => Effect.sync(() => (count += payload.amount)),
      GetCount: () => Effect.sync(() => count),
    });
  }),
);

type SqliteCounter = (typeof SQLITE_COUNTERS)[EffectSqliteVariant];

/**
 * The SQLite counter's behaviour, for either variant: load on activation, upsert the new
 * value before the reply (the reply only leaves once this commit returned).
 */
function durableCounterLayer(counter: SqliteCounter) {
  return (counter as typeof PlainDurableCounter).toLayer(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient;
      const { entityId } = yield* Entity.CurrentAddress;
      const rows = yield* sql<{ value: number }>`SELECT value FROM ${sql(COUNTER_TABLE)} WHERE id = ${entityId}`.pipe(Effect.orDie);
      let count = rows[0]?.value ?? 0;
      return {
        Increment: ({ payload }: { payload: { amount: number } }) =>
          Effect.gen(function* () {
            const next = count + payload.amount;
            yield* sql`INSERT INTO ${sql(COUNTER_TABLE)} (id, value) VALUES (${entityId}, ${next})
              ON CONFLICT(id) DO UPDATE SET value = excluded.value`.pipe(Effect.orDie);
            count = next;
            return next;
          }),
        GetCount: () => Effect.succeed(count),
      };
    }),
  );
}

/** Effect's default logger is chatty about shards; keep warnings only. */
const quietLogs = Logger.minimumLogLevel(LogLevel.Warning);

/** Issue-to-reply time of one call, written into `samples[index]`. */
function timed<A, E, R>(call: Effect.Effect<A, E, R>, samples: Float64Array, index: number): Effect.Effect<void, E, R> {
  return Effect.suspend(() => {
    const t0 = performance.now();
    return Effect.map(call, () => {
      samples[index] = performance.now() - t0;
    });
  });
}

/** Sequential then concurrent workload against `increment(entityId)`, inside Effect. */
function workloads<E, R>(
  spec: CounterWorkloadSpec,
  increment: (entityId: string) => Effect.Effect<number, E, R>,
  count: (entityId: string) => Effect.Effect<number, E, R>,
  stored?: (entityId: string) => Effect.Effect<number | undefined, E, R>,
): Effect.Effect<CounterWorkloadResults, E, R> {
  return Effect.gen(function* () {
    yield* Effect.forEach(Array.from({ length: spec.warmupCalls }), () => increment(WARMUP_ENTITY_ID), { discard: true });

    const seqSamples = new Float64Array(spec.sequentialCalls);
    const seqStart = performance.now();
    for (let i = 0; i < spec.sequentialCalls; i++) yield* timed(increment(SEQUENTIAL_ENTITY_ID), seqSamples, i);
    const sequential = workloadResult(seqSamples, performance.now() - seqStart);

    const total = spec.entityCount * spec.callsPerEntity;
    const concSamples = new Float64Array(total);
    const concStart = performance.now();
    yield* Effect.forEach(
      Array.from({ length: total }, (_, i) => i),
      (i) => timed(increment(concurrentEntityId(concurrentCallEntity(i, spec))), concSamples, i),
      { concurrency: spec.inFlightMax, discard: true },
    );
    const concurrent = workloadResult(concSamples, performance.now() - concStart);

    yield* checkCounts(spec, count);
    if (stored !== undefined) {
      const onDisk = yield* stored(SEQUENTIAL_ENTITY_ID);
      if (onDisk !== spec.sequentialCalls) yield* Effect.dieMessage(`effect-cluster stored counter ${onDisk}, want ${spec.sequentialCalls}`);
    }
    return { sequential, concurrent };
  });
}

/** Reads counters back: a benchmark whose calls were lost must not report a number. */
function checkCounts<E, R>(spec: CounterWorkloadSpec, count: (entityId: string) => Effect.Effect<number, E, R>): Effect.Effect<void, E, R> {
  return Effect.gen(function* () {
    const seq = yield* count(SEQUENTIAL_ENTITY_ID);
    const first = yield* count(concurrentEntityId(0));
    const last = yield* count(concurrentEntityId(spec.entityCount - 1));
    if (seq !== spec.sequentialCalls || first !== spec.callsPerEntity || last !== spec.callsPerEntity) {
      yield* Effect.dieMessage(`effect-cluster counts wrong: sequential ${seq}, first ${first}, last ${last}`);
    }
  });
}

async function runMemory(spec: CounterWorkloadSpec): Promise<CounterWorkloadResults> {
  const runtime = ManagedRuntime.make(MemoryCounterLive.pipe(Layer.provideMerge(TestRunner.layer), Layer.provide(quietLogs)));
  try {
    return await runtime.runPromise(
      Effect.gen(function* () {
        const client = yield* MemoryCounter.client;
        return yield* workloads(
          spec,
          (id) => client(id).Increment({ amount: 1 }),
          (id) => client(id).GetCount(),
        );
      }),
    );
  } finally {
    await runtime.dispose();
  }
}

async function runSqlite(spec: CounterWorkloadSpec, synchronous: SqliteSynchronous, variant: EffectSqliteVariant): Promise<CounterWorkloadResults> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-effect-'));
  const sqlite = SqliteClient.layer({ filename: path.join(dir, 'cluster.db') });
  const cluster = SingleRunner.layer().pipe(Layer.provideMerge(sqlite));
  // Both variants have the same shape; only the `Persisted` annotation differs, so one
  // typed view serves them (the annotation changes what Effect does, not the types).
  const counter = SQLITE_COUNTERS[variant] as typeof PlainDurableCounter;
  const runtime = ManagedRuntime.make(durableCounterLayer(counter).pipe(Layer.provideMerge(cluster), Layer.provide(quietLogs)));
  try {
    return await runtime.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient;
        yield* sql.unsafe(`PRAGMA synchronous = ${synchronous}`);
        const mode = yield* sql<{ synchronous: number }>`PRAGMA synchronous`;
        if (mode[0]?.synchronous !== SYNCHRONOUS_LEVEL[synchronous]) yield* Effect.dieMessage(`effect-cluster: synchronous=${synchronous} did not take`);
        yield* sql`CREATE TABLE IF NOT EXISTS ${sql(COUNTER_TABLE)} (id TEXT PRIMARY KEY, value INTEGER NOT NULL)`;
        const client = yield* counter.client;
        return yield* workloads(
          spec,
          (id) => client(id).Increment({ amount: 1 }),
          (id) => client(id).GetCount(),
          (id) => sql<{ value: number }>`SELECT value FROM ${sql(COUNTER_TABLE)} WHERE id = ${id}`.pipe(Effect.map((rows) => rows[0]?.value), Effect.orDie),
        );
      }),
    );
  } finally {
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * SQLite durability of the SQLite runs. `FULL`: every commit is fsynced before it
 * returns (what "acknowledged only after durable" needs). `NORMAL`: what Effect gets by
 * default (better-sqlite3 builds SQLite with WAL synchronous=NORMAL): survives a process
 * crash, not a power loss, because WAL commits are not fsynced.
 */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

const SYNCHRONOUS_LEVEL: Readonly<Record<SqliteSynchronous, number>> = { NORMAL: 1, FULL: 2 };

/** Options of one Effect Cluster run. */
export interface EffectClusterRunOptions {
  /** Workload sizes; default `COUNTER_WORKLOAD_DEFAULTS[mode]`. */
  readonly spec?: CounterWorkloadSpec;
  /** `sqlite` mode only; default `FULL`, the durability the comparison requires. */
  readonly synchronous?: SqliteSynchronous;
  /** `sqlite` mode only: how `Increment` travels; default `plain`, the like-for-like one. */
  readonly variant?: EffectSqliteVariant;
}

/**
 * Runs both counter workloads on Effect Cluster in `mode` and returns what they measured.
 * `memory`: `TestRunner.layer` (in-memory storage), plain RPCs. `sqlite`: `SingleRunner.layer()`
 * on a fresh temporary SQLite file, `Increment` plain or persisted, state written by the handler.
 */
export async function runEffectClusterWorkloads(mode: EntityBenchMode, options: EffectClusterRunOptions = {}): Promise<CounterWorkloadResults> {
  const spec = options.spec ?? COUNTER_WORKLOAD_DEFAULTS[mode];
  return mode === 'memory' ? runMemory(spec) : runSqlite(spec, options.synchronous ?? 'FULL', options.variant ?? 'plain');
}
