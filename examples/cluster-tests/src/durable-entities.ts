/**
 * The runner's durable-execution fixtures, written as a Flotilla user would: the
 * WorkflowTest workflows (simple, failing, long), the ActivityTest workflow whose steps
 * append to a log record in the same commit as their journal entry, the TimerTest timer
 * kind and entity that records each firing, and an index entity listing each workflow
 * id's executions.
 */
import { defineEntity, defineWorkflow, FlotillaError, type FlotillaNode, type TimerKind } from 'flotilla';

/** Steps of the simple workflow. */
export const SIMPLE_STEPS = 3;
/** Most steps of one long workflow. */
export const LONG_STEPS_MAX = 10_000;
/** Steps of the failing workflow (it fails at `fail_at`, 1-based, on its first run). */
export const FAILING_STEPS = 5;
/** Actions of the ActivityTest workflow, one activity each. */
export const ACTIVITY_ACTIONS = ['reserve', 'charge', 'ship'] as const;
/** The record type holding an ActivityTest id's log. */
export const ACTIVITY_LOG_TYPE = 'ActivityLog';
/**
 * Retries of an ActivityTest step: executions appending to one log at once conflict on
 * its version (each conflict means another append committed), so a step tries again.
 */
const LOG_WRITE_RETRY = { attemptsMax: 20, backoffInitialMs: 10, backoffMaxMs: 200 };
/** The timer kind of TimerTest timers. */
export const TEST_TIMER_KIND = 'timer-test';

/** One entry of an ActivityTest log. */
export interface ActivityLogEntry {
  readonly id: string;
  readonly action: string;
  readonly timestamp: number;
}

/** One recorded firing of a TimerTest timer. */
export interface TimerFire {
  readonly timer_id: string;
  readonly scheduled_at: number;
  readonly fired_at: number;
}

/** Executions started per WorkflowTest id, with how many times each was started. */
export const WorkflowIndex = defineEntity('WorkflowIndex', {
  state: () => ({ runs: {} as Record<string, number> }),
  handlers: {
    /** Count a start of `execId`; answers how many starts it had, this one included. */
    started(ctx, execId: string): number {
      const runs = (ctx.state.runs[execId] ?? 0) + 1;
      ctx.state.runs[execId] = runs;
      return runs;
    },
    runsOf(ctx, execId: string): number {
      return ctx.state.runs[execId] ?? 0;
    },
    executions(ctx): string[] {
      return Object.keys(ctx.state.runs);
    },
  },
});

/** The fires of one TimerTest id; a firing delivered twice is recorded once. */
export const TimerTest = defineEntity('TimerTest', {
  state: () => ({ fires: [] as TimerFire[] }),
  handlers: {
    recordFire(ctx, fire: TimerFire): null {
      if (!ctx.state.fires.some((f) => f.timer_id === fire.timer_id && f.scheduled_at === fire.scheduled_at)) ctx.state.fires.push(fire);
      return null;
    },
    fires(ctx): TimerFire[] {
      return ctx.state.fires;
    },
    clear(ctx): null {
      ctx.state.fires = [];
      return null;
    },
  },
});

/** The execution id of WorkflowTest `id`'s `execId`. */
export function executionId(id: string, execId: string): string {
  return `${id}/${execId}`;
}

/** `count` steps named step-1..step-count, each returning its name. */
async function steps(ctx: Parameters<Parameters<typeof defineWorkflow>[1]>[0], count: number): Promise<string[]> {
  const done: string[] = [];
  for (let i = 1; i <= count; i++) done.push(await ctx.activity(`step-${i}`, () => `step-${i}`));
  return done;
}

export const SimpleWorkflow = defineWorkflow('WorkflowTest.simple', async (ctx, input: { execId: string }) => {
  const done = await steps(ctx, SIMPLE_STEPS);
  return `${input.execId}: ${done.join(',')}`;
});

export const LongWorkflow = defineWorkflow('WorkflowTest.long', async (ctx, input: { execId: string; steps: number }) => {
  const done = await steps(ctx, input.steps);
  return `${input.execId}: ${done.length} steps`;
});

/**
 * Fails at step `failAt` while the execution is on its first start (the index counts
 * starts outside the journal), so a second start with the same id goes through.
 */
export function failingWorkflow(node: () => FlotillaNode) {
  return defineWorkflow('WorkflowTest.failing', async (ctx, input: { id: string; execId: string; failAt: number }) => {
    const done: string[] = [];
    for (let i = 1; i <= FAILING_STEPS; i++) {
      done.push(
        await ctx.activity(
          `step-${i}`,
          async () => {
            if (i === input.failAt && (await node().entity(WorkflowIndex, input.id).runsOf(input.execId)) <= 1) {
              throw new FlotillaError('FLO_ACTIVITY_FAILED', `step-${i} failed on purpose (first run)`);
            }
            return `step-${i}`;
          },
          { attemptsMax: 1 },
        ),
      );
    }
    return `${input.execId}: ${done.join(',')}`;
  });
}

export const ActivityWorkflow = defineWorkflow('ActivityTest.run', async (ctx, input: { id: string; execId: string }) => {
  const actions: string[] = [];
  for (const action of ACTIVITY_ACTIONS) {
    actions.push(
      await ctx.activity(action, async (act) => {
        const log = ((await act.get(ACTIVITY_LOG_TYPE, input.id)) as ActivityLogEntry[] | undefined) ?? [];
        await act.set(ACTIVITY_LOG_TYPE, input.id, [...log, { id: `${input.execId}:${action}`, action, timestamp: Date.now() }]);
        return action;
      }, LOG_WRITE_RETRY),
    );
  }
  return actions;
});

/** Payload of a TimerTest timer. */
interface TestTimerPayload {
  readonly entity: string;
  readonly timerId: string;
  readonly scheduledAt: number;
}

/** Delivers a TimerTest timer to its entity (at least once; the entity keeps one record per scheduling). */
export function testTimerKind(node: () => FlotillaNode): TimerKind {
  return {
    kind: TEST_TIMER_KIND,
    deliver: async (timer) => {
      const p = timer.payload as TestTimerPayload;
      await node().entity(TimerTest, p.entity).recordFire({ timer_id: p.timerId, scheduled_at: p.scheduledAt, fired_at: Date.now() });
    },
  };
}

/** The fixtures one runner registers, bound to its node once it started (one runner per process). */
export class DurableFixtures {
  private node: FlotillaNode | undefined;
  readonly failing = failingWorkflow(() => this.requireNode());
  readonly workflows = [SimpleWorkflow, LongWorkflow, this.failing, ActivityWorkflow];
  readonly timerKinds = [testTimerKind(() => this.requireNode())];
  readonly entities = [WorkflowIndex, TimerTest];

  bind(node: FlotillaNode): void {
    this.node = node;
  }

  private requireNode(): FlotillaNode {
    if (this.node === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'the runner has not started its node yet');
    return this.node;
  }
}

/** This process's fixtures. */
export const DURABLE_FIXTURES = new DurableFixtures();
