/**
 * The workflow the durable scenarios run, built per simulated node so every activity run
 * is logged with its node, and what the shared store saw: when each journal entry
 * committed, each execution's commits (its "step boundaries"), results, and timer firings.
 * A crash plan turns a chosen boundary or a chosen activity into a crash of the node
 * concerned; the probe lists what breaks the durability guarantees.
 */
import type { NodeId } from '../../src/core/model.js';
import { sleep, type Timers } from '../../src/core/timers.js';
import { decodeOutcome } from '../../src/durable/journal-codec.js';
import type { TimerKind } from '../../src/durable/timer-kind.js';
import { defineWorkflow, type AnyWorkflowDefinition, type WorkflowDefinition } from '../../src/durable/workflow-definition.js';
import type { DurableCommit } from '../../src/storage/durable.js';

/** Activities of the main workflow. */
export const WORKFLOW_STEPS = 20;
/** The durable sleep comes after this step. */
const SLEEP_AFTER_STEP = 9;
/** How long the sleep lasts, virtual ms. */
const SLEEP_MS = 300;
/** How long each activity works (a host timer), virtual ms: the window for a crash mid-activity. */
const ACTIVITY_MS = 20;
/** Name of the main workflow and of its child. */
export const MAIN_WORKFLOW = 'sim-twenty-steps';
const CHILD_WORKFLOW = 'sim-child';
/** Timer kind of the scenario's own timers. */
export const PROBE_TIMER_KIND = 'sim.probe';

/** Main workflow's result: a digest of every step's output and the child's. */
export interface MainResult {
  readonly acc: number;
  readonly child: number;
}

/** One run of an activity. */
interface Invocation {
  readonly exec: string;
  readonly step: string;
  readonly node: NodeId;
  /** Position in the probe's event order. */
  readonly index: number;
}

function mix(acc: number, i: number): number {
  return (Math.imul(acc ^ (i + 0x9e37), 0x85eb_ca6b) + i) >>> 0;
}

/** Workflows, timers and the shared store under one scenario's eyes. */
export class WorkflowProbe {
  readonly invocations: Invocation[] = [];
  /** `exec/label` -> event index at which its journal entry committed. */
  private readonly journaled = new Map<string, number>();
  /** Commits touching each execution (its boundaries), counted in order. */
  readonly boundaries = new Map<string, number>();
  readonly results = new Map<string, unknown>();
  /** Timer id -> firings (commits that removed it) and when. */
  readonly firings = new Map<string, { count: number; at: number }>();
  readonly timersSet = new Map<string, number>();
  /** Crash plan of one execution: after boundary b, or in step i's activity. */
  plan: { exec: string; boundaries: Set<number>; steps: Set<number> } | undefined;
  /** Nodes whose death is decided and that the scenario must crash. */
  readonly toCrash: NodeId[] = [];
  readonly crashed = { boundary: 0, mid: 0 };
  private readonly midDone = new Set<number>();
  private events = 0;

  constructor(
    private readonly now: () => number,
    private readonly kill: (node: NodeId) => void,
  ) {}

  /** A definition by name only, for starting executions from any node. */
  main(): WorkflowDefinition<{ seed: number }, MainResult> {
    return defineWorkflow(MAIN_WORKFLOW, () => Promise.reject(new Error('name only')));
  }

  /** The workflows of node `node`. */
  workflows(node: NodeId, timers: Timers): AnyWorkflowDefinition[] {
    const work = async (exec: string, step: string, value: number): Promise<number> => {
      this.invoked(exec, step, node);
      await sleep(timers, ACTIVITY_MS);
      return value;
    };
    const child = defineWorkflow(CHILD_WORKFLOW, async (ctx, input: { acc: number }) => {
      const a = await ctx.activity('c0', () => work(ctx.workflowId, 'c0', mix(input.acc, 100)));
      return ctx.activity('c1', () => work(ctx.workflowId, 'c1', mix(a, 101)));
    });
    const main = defineWorkflow(MAIN_WORKFLOW, async (ctx, input: { seed: number }): Promise<MainResult> => {
      let acc = input.seed >>> 0;
      for (let i = 0; i < WORKFLOW_STEPS; i++) {
        const before = acc;
        acc = await ctx.activity(`step-${i}`, () => work(ctx.workflowId, `step-${i}`, mix(before, i)));
        if (i === SLEEP_AFTER_STEP) await ctx.sleep('pause', SLEEP_MS);
      }
      return { acc, child: await ctx.child(child, `${ctx.workflowId}/child`, { acc }) };
    });
    return [main, child];
  }

  /** The scenario's timer kind: firings are counted from the store's commits. */
  timerKinds(): TimerKind[] {
    return [{ kind: PROBE_TIMER_KIND }];
  }

  /** Every commit the shared store applied. */
  observe(writer: NodeId, commit: DurableCommit, dies: () => void): void {
    const index = this.events++;
    for (const t of commit.timersSet ?? []) if (t.kind === PROBE_TIMER_KIND) this.timersSet.set(t.id, t.dueAt);
    for (const d of commit.timersDelete ?? []) {
      if (!d.mustExist || !this.timersSet.has(d.id)) continue;
      const f = this.firings.get(d.id);
      this.firings.set(d.id, { count: (f?.count ?? 0) + 1, at: f?.at ?? this.now() });
    }
    const exec = commit.workflow?.id ?? commit.journal?.workflowId;
    if (exec === undefined) return;
    for (const e of commit.journal?.append ?? []) if (!this.journaled.has(`${exec}/${e.name}`)) this.journaled.set(`${exec}/${e.name}`, index);
    if (commit.workflow?.status === 'completed' && commit.workflow.output !== undefined) {
      const out = decodeOutcome(commit.workflow.output);
      this.results.set(exec, out.ok ? out.value : { error: out.code });
    }
    const b = (this.boundaries.get(exec) ?? 0) + 1;
    this.boundaries.set(exec, b);
    if (this.plan?.exec === exec && this.plan.boundaries.has(b)) {
      this.plan.boundaries.delete(b);
      this.crashed.boundary++;
      dies();
      this.toCrash.push(writer);
    }
  }

  /** What breaks the guarantees: an activity run after its journal entry committed, a step never run. */
  violations(execs: readonly string[]): string[] {
    const out: string[] = [];
    for (const inv of this.invocations) {
      if (!execs.includes(inv.exec)) continue;
      const committed = this.journaled.get(`${inv.exec}/activity:${inv.step}`);
      if (committed !== undefined && inv.index > committed) out.push(`${inv.exec} ${inv.step} ran again on ${inv.node} after its journal entry committed`);
    }
    for (const exec of execs) {
      const steps = exec.endsWith('/child') ? ['c0', 'c1'] : Array.from({ length: WORKFLOW_STEPS }, (_, i) => `step-${i}`);
      for (const step of steps) if (!this.journaled.has(`${exec}/activity:${step}`)) out.push(`${exec} ${step} was never journaled`);
    }
    return out.slice(0, 10);
  }

  /** Activity runs of one execution. */
  runsOf(exec: string): number {
    return this.invocations.filter((i) => i.exec === exec).length;
  }

  private invoked(exec: string, step: string, node: NodeId): void {
    this.invocations.push({ exec, step, node, index: this.events++ });
    const i = step.startsWith('step-') ? Number(step.slice(5)) : -1;
    if (this.plan?.exec !== exec || !this.plan.steps.has(i) || this.midDone.has(i)) return;
    this.midDone.add(i);
    this.crashed.mid++;
    this.kill(node);
    this.toCrash.push(node);
  }
}
