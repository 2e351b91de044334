/**
 * How a program declares a durable workflow, and what its code sees while running: the
 * workflow context (activities, durable sleeps, deterministic time and randomness,
 * version markers) and the activity context (records changed in the same commit as the
 * activity's journal entry).
 */

/** Retry policy of one activity: capped exponential backoff between attempts. */
export interface ActivityOptions {
  /** Attempts, the first included. Default `durable.activityAttemptsMax`. */
  readonly attemptsMax?: number;
  /** Pause before the second attempt, ms; doubles per attempt. Default `durable.activityBackoffInitialMs`. */
  readonly backoffInitialMs?: number;
  /** Cap of the pause, ms. Default `durable.activityBackoffMaxMs`. */
  readonly backoffMaxMs?: number;
}

/** What an activity's code may use. Its record changes commit with its journal entry, or not at all. */
export interface ActivityContext {
  /** The execution id of the workflow running it. */
  readonly workflowId: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** A record's value as stored now (undefined when absent). */
  get(type: string, id: string): Promise<unknown>;
  /** Stage a record's new value; written in the activity's commit, refused if the record changed meanwhile. */
  set(type: string, id: string, value: unknown): Promise<void>;
  /** Stage a record's removal. */
  delete(type: string, id: string): Promise<void>;
}

/** What a workflow's code sees. Everything it does that is not deterministic must go through it. */
export interface WorkflowContext {
  /** The execution id. */
  readonly workflowId: string;
  /**
   * Run a step once: on replay its journaled result (or error) comes back without running
   * it. `name` must be the same, in the same order, on every replay.
   */
  activity<T>(name: string, fn: (act: ActivityContext) => Promise<T> | T, options?: ActivityOptions): Promise<T>;
  /** A durable sleep: the workflow leaves memory and resumes when its timer fires, on whichever node owns it then. */
  sleep(name: string, ms: number): Promise<void>;
  /**
   * Wait for the signal `name` sent to this execution (`workflows.signal`) and return its
   * payload. A signal sent before the wait is kept until asked for. While waiting the
   * workflow holds no memory, as in a sleep.
   */
  signal<T = unknown>(name: string): Promise<T>;
  /**
   * Run workflow `definition` as a child execution `childId` and return its result. The
   * child starts once (by id, on the owner of its own partition, which may be another
   * node); meanwhile this workflow holds no memory, and the child's end wakes it. A child
   * that failed throws FLO_CHILD_WORKFLOW_FAILED (details: `childWorkflowId`, `childCode`).
   * On replay the journaled outcome comes back without asking the child.
   */
  child<I, O>(definition: WorkflowDefinition<I, O>, childId: string, input: I): Promise<O>;
  /** The time, journaled: the same value on every replay. */
  now(): Promise<number>;
  /** A random float in [0, 1), seeded from the execution id: the same sequence on every replay. */
  random(): number;
  /**
   * Version marker. True when this execution reached this point running code that has the
   * patch (new executions, or old ones past their journal); false when replaying a journal
   * written before the patch. Keep the old branch until no execution can need it.
   */
  patched(patchId: string): boolean;
}

/** A workflow body. Input and result must be msgpack-serializable. */
export type WorkflowFn<I, O> = (ctx: WorkflowContext, input: I) => Promise<O>;

/** A declared workflow. */
export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly name: string;
  readonly run: WorkflowFn<I, O>;
}

/** Any workflow definition, for registries. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkflowDefinition = WorkflowDefinition<any, any>;

/** Declare a workflow; register it on every node with `startNode({ workflows: [...] })`. */
export function defineWorkflow<I, O>(name: string, run: WorkflowFn<I, O>): WorkflowDefinition<I, O> {
  return { name, run };
}
