/**
 * The `@effect/workflow` side of the workflow comparison: the same steps workflow (each
 * step an activity returning its index) on `@effect/workflow` 0.19 with `effect` 3.22,
 * run by `ClusterWorkflowEngine` on `SingleRunner.layer()` over a temporary SQLite file
 * (`@effect/sql-sqlite-node`) with `synchronous = FULL`, like Flotilla's SQLite storage.
 *
 * What Effect journals: the workflow run is a persisted cluster message (the request row,
 * then its reply); each activity is a persisted message to the activity entity with its
 * reply (the activity's result); the storage poll marks requests read. So a step costs
 * several commits, each with its fsync, where Flotilla commits one journal row per step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClusterWorkflowEngine, SingleRunner } from '@effect/cluster';
import { SqlClient } from '@effect/sql';
import { SqliteClient } from '@effect/sql-sqlite-node';
import { Activity, Workflow } from '@effect/workflow';
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Schema } from 'effect';

/** Package versions measured, for the notes. */
export const EFFECT_WORKFLOW_VERSIONS = 'effect 3.22, @effect/workflow 0.19, @effect/cluster 0.60 (ClusterWorkflowEngine, SingleRunner), @effect/sql-sqlite-node 0.53';

const Steps = Workflow.make({
  name: 'BenchSteps',
  payload: { id: Schema.String, steps: Schema.Number },
  success: Schema.Number,
  idempotencyKey: (p) => p.id,
});

const StepsLive = Steps.toLayer(({ steps }) =>
  Effect.gen(function* () {
    let sum = 0;
    for (let i = 0; i < steps; i++) sum += yield* Activity.make({ name: `s${i}`, success: Schema.Number, execute: Effect.succeed(i) });
    return sum;
  }),
);

/** A running engine: run one execution to its result, and dispose. */
export interface EffectWorkflowBench {
  run(id: string, steps: number): Promise<number>;
  close(): Promise<void>;
}

/** Start the engine on a fresh SQLite file with `synchronous = FULL`. */
export async function startEffectWorkflows(): Promise<EffectWorkflowBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-effect-wf-'));
  const sqlite = SqliteClient.layer({ filename: path.join(dir, 'workflows.db') });
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(SingleRunner.layer()), Layer.provideMerge(sqlite));
  const quiet = Logger.minimumLogLevel(LogLevel.Warning);
  const runtime = ManagedRuntime.make(StepsLive.pipe(Layer.provideMerge(engine), Layer.provide(quiet)));
  await runtime.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient;
      yield* sql.unsafe('PRAGMA synchronous = FULL');
      const mode = yield* sql<{ synchronous: number }>`PRAGMA synchronous`;
      if (mode[0]?.synchronous !== 2) yield* Effect.dieMessage('effect-workflow: synchronous=FULL did not take');
    }),
  );
  return {
    run: (id, steps) => runtime.runPromise(Steps.execute({ id, steps })),
    close: async () => {
      await runtime.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Time `fn`, ms. */
export async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
