/**
 * One execution of a workflow on its partition's owner: runs the workflow's code against
 * its journal. A step found in the journal returns its journaled outcome without running;
 * a new step runs and commits its outcome (with the activity's record changes) before the
 * code goes on. A step whose name differs from the journal's at the same position fails
 * the execution with FLO_WORKFLOW_NONDETERMINISM. A durable sleep commits a timer and
 * ends the run: nothing of the workflow stays in memory until the timer fires.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { murmur3Utf8 } from '../core/murmur3.js';
import { SeededRandom } from '../core/random.js';
import { sleep as hostSleep, type Timers } from '../core/timers.js';
import { decodeState, decodeValue, encodeValue } from '../entities/state-codec.js';
import type { DurableCommit, DurableTimer, JournalEntry, StoredWorkflow } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';
import { StagedActivity } from './activity-context.js';
import { childLabel, doneTimer, loadLink, WORKFLOW_CHILD_START_KIND, type ChildStartPayload } from './child-workflows.js';
import type { CommitQueue } from './commit-queue.js';
import type { DurableConfig } from './durable-config.js';
import { decodeOutcome, encodeError, encodeOk, outcomeError } from './journal-codec.js';
import type { ActivityContext, ActivityOptions, AnyWorkflowDefinition, WorkflowContext, WorkflowDefinition } from './workflow-definition.js';

/** Record type holding signals sent to executions (id: `<execution>/<signal name>`). */
export const SIGNAL_RECORD_TYPE = 'flotilla.signal';

/** Timer kind of workflow sleeps. */
export const WORKFLOW_SLEEP_KIND = 'workflow.sleep';

/** Payload of a sleep timer. */
export interface SleepPayload {
  readonly workflowId: string;
  readonly seq: number;
  readonly label: string;
}

/** How a run ended. */
export type RunEnd =
  | { readonly kind: 'completed'; readonly output: Uint8Array }
  | { readonly kind: 'failed'; readonly output: Uint8Array }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'deposed'; readonly error: FlotillaError };

/** What a run needs. */
export interface RunDeps {
  readonly writer: string;
  readonly epoch: number;
  readonly workflow: StoredWorkflow;
  readonly journal: readonly JournalEntry[];
  readonly definition: AnyWorkflowDefinition;
  readonly storage: Storage;
  readonly queue: CommitQueue;
  readonly timers: Timers;
  readonly config: DurableConfig;
  /** Longest execution id (a child's id is checked against it). */
  readonly idLengthMax: number;
  /** A timer (a sleep's, a child's start or report) was committed. */
  scheduled(timer: DurableTimer): void;
  /** Counts steps that ran (not replayed). */
  stepRan(): void;
}

/** Unwinds the workflow's code once the run cannot go on here (slept, or deposed). */
class Unwind extends Error {
  constructor() {
    super('workflow run unwound');
  }
}

/** One execution's run. */
export class WorkflowRun implements WorkflowContext {
  readonly workflowId: string;
  private readonly journal = new Map<number, JournalEntry>();
  private pending: JournalEntry[] = [];
  private seq = 0;
  private end: RunEnd | undefined;
  /** Set once replay diverged from the journal: the run fails with it whatever the code does. */
  private divergence: FlotillaError | undefined;
  private readonly rng: SeededRandom;
  /** Errors thrown by activities that failed for good, with their step. */
  private readonly failedSteps = new WeakMap<object, number>();

  constructor(private readonly deps: RunDeps) {
    this.workflowId = deps.workflow.id;
    for (const e of deps.journal) this.journal.set(e.seq, e);
    this.rng = new SeededRandom(murmur3Utf8(`workflow/${deps.workflow.id}`));
  }

  /** Run the code to its end, its failure, a sleep, or a fence. */
  async execute(): Promise<RunEnd> {
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      value = await this.deps.definition.run(this, decodeValue(this.deps.workflow.input));
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (this.end !== undefined) return this.end;
    if (this.divergence !== undefined) {
      failed = true;
      failure = this.divergence;
    }
    const step = failed && typeof failure === 'object' && failure !== null ? this.failedSteps.get(failure) : undefined;
    const output = failed ? encodeError(failure, 'FLO_WORKFLOW_FAILED', step === undefined ? undefined : { failedStep: step }) : encodeOk(value);
    const status = failed ? 'failed' : 'completed';
    // A child reports to its parent through a timer committed with its end.
    const link = await loadLink(this.deps.storage, this.workflowId);
    const report = link === undefined ? undefined : doneTimer(this.workflowId, link, output, this.deps.timers.now());
    const ended = await this.commit({ workflow: { ...this.row(), status, output }, ...(report === undefined ? {} : { timersSet: [report] }) });
    if (ended !== undefined) return ended;
    if (report !== undefined) this.deps.scheduled({ ...report, partition: this.deps.workflow.partition });
    return { kind: status, output };
  }

  async activity<T>(name: string, fn: (act: ActivityContext) => Promise<T> | T, options: ActivityOptions = {}): Promise<T> {
    const label = `activity:${name}`;
    const seq = this.seq;
    const entry = this.next(label);
    if (entry !== undefined) {
      const outcome = decodeOutcome(entry.outcome);
      if (outcome.ok) return outcome.value as T;
      throw this.markFailed(outcomeError(outcome), seq);
    }
    const attemptsMax = options.attemptsMax ?? this.deps.config.activityAttemptsMax;
    let pause = options.backoffInitialMs ?? this.deps.config.activityBackoffInitialMs;
    const pauseMax = options.backoffMaxMs ?? this.deps.config.activityBackoffMaxMs;
    for (let attempt = 1; ; attempt++) {
      const act = new StagedActivity(this.deps.storage, this.workflowId, attempt);
      let error: unknown;
      try {
        const outcome = encodeOk(await fn(act));
        this.deps.stepRan();
        const refused = await this.commitStep({ seq, name: label, outcome }, act);
        if (refused === undefined) return (decodeOutcome(outcome) as { value: T }).value;
        error = refused;
      } catch (thrown) {
        if (thrown instanceof Unwind) throw thrown;
        error = thrown;
      }
      if (attempt >= attemptsMax) {
        const failedEntry = { seq, name: label, outcome: encodeError(error, 'FLO_ACTIVITY_FAILED', { attempts: attempt }) };
        if ((await this.commitStep(failedEntry, undefined)) !== undefined) throw this.unwind({ kind: 'deposed', error: new FlotillaError('FLO_NOT_OWNER', 'journal refused') });
        throw this.markFailed(outcomeError(decodeOutcome(failedEntry.outcome) as Extract<ReturnType<typeof decodeOutcome>, { ok: false }>), seq);
      }
      await hostSleep(this.deps.timers, pause);
      pause = Math.min(pause * 2, pauseMax);
    }
  }

  async sleep(name: string, ms: number): Promise<void> {
    const label = `sleep:${name}`;
    const seq = this.seq;
    if (this.next(label) !== undefined) return;
    const id = `workflow/${this.workflowId}/${seq}`;
    // Woken early (a signal): the timer set by the first run keeps its due time.
    if ((await this.deps.storage.loadTimer(id)) !== undefined) throw this.unwind({ kind: 'suspended' });
    this.guard();
    const dueAt = this.deps.timers.now() + Math.max(0, Math.floor(ms));
    const payload: SleepPayload = { workflowId: this.workflowId, seq, label };
    const timer = { id, dueAt, kind: WORKFLOW_SLEEP_KIND, payload: encodeValue(payload) };
    const ended = await this.commit({ workflow: { ...this.row(), status: 'sleeping', output: undefined }, timersSet: [timer] });
    if (ended !== undefined) throw this.unwind(ended);
    this.deps.scheduled({ ...timer, partition: this.deps.workflow.partition });
    throw this.unwind({ kind: 'suspended' });
  }

  async signal<T>(name: string): Promise<T> {
    const label = `signal:${name}`;
    const seq = this.seq;
    const entry = this.next(label);
    if (entry !== undefined) {
      const outcome = decodeOutcome(entry.outcome);
      return (outcome.ok ? outcome.value : undefined) as T;
    }
    const stored = await this.deps.storage.loadEntity(SIGNAL_RECORD_TYPE, `${this.workflowId}/${name}`);
    this.guard();
    if (stored === undefined) {
      const ended = await this.commit({ workflow: { ...this.row(), status: 'sleeping', output: undefined } });
      throw this.unwind(ended ?? { kind: 'suspended' });
    }
    const value = decodeState(stored.state).state;
    const outcome = encodeOk(value);
    const ended = await this.commit({ workflow: { ...this.row(), status: 'running', output: undefined } }, { seq, name: label, outcome });
    if (ended !== undefined) throw this.unwind(ended);
    return value as T;
  }

  async child<I, O>(definition: WorkflowDefinition<I, O>, childId: string, input: I): Promise<O> {
    const label = childLabel(definition.name, childId);
    const seq = this.seq;
    const entry = this.next(label);
    if (entry !== undefined) {
      const outcome = decodeOutcome(entry.outcome);
      if (outcome.ok) return outcome.value as O;
      throw this.markFailed(outcomeError(outcome), seq);
    }
    if (typeof childId !== 'string' || childId.length === 0 || childId.length > this.deps.idLengthMax || childId.includes('\u0000')) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `a child workflow id is a non-empty string of at most ${this.deps.idLengthMax} characters without NUL`);
    }
    const id = `workflow/${this.workflowId}/${seq}`;
    // Woken early (a signal) while the start is still pending: it stays as it is.
    if ((await this.deps.storage.loadTimer(id)) !== undefined) throw this.unwind({ kind: 'suspended' });
    this.guard();
    const payload: ChildStartPayload = { parentId: this.workflowId, seq, label, childId, name: definition.name, input: encodeValue(input ?? null) };
    const timer = { id, dueAt: this.deps.timers.now(), kind: WORKFLOW_CHILD_START_KIND, payload: encodeValue(payload) };
    // The sleep commits before the start leaves: the child's report can only find the parent asleep.
    const ended = await this.commit({ workflow: { ...this.row(), status: 'sleeping', output: undefined }, timersSet: [timer] });
    if (ended !== undefined) throw this.unwind(ended);
    this.deps.scheduled({ ...timer, partition: this.deps.workflow.partition });
    throw this.unwind({ kind: 'suspended' });
  }

  now(): Promise<number> {
    const seq = this.seq;
    const entry = this.next('now');
    if (entry !== undefined) {
      const outcome = decodeOutcome(entry.outcome);
      return Promise.resolve(outcome.ok ? Number(outcome.value) : 0);
    }
    const now = this.deps.timers.now();
    this.pending.push({ seq, name: 'now', outcome: encodeOk(now) });
    return Promise.resolve(now);
  }

  random(): number {
    this.guard();
    return this.rng.next();
  }

  patched(patchId: string): boolean {
    this.guard();
    const label = `patch:${patchId}`;
    const entry = this.journal.get(this.seq);
    if (entry !== undefined && entry.name !== label) return false;
    if (entry === undefined) this.pending.push({ seq: this.seq, name: label, outcome: encodeOk(true) });
    this.seq++;
    return true;
  }

  /** The next step's journal entry, if this run is replaying; checks that the code asks for the same step. */
  private next(label: string): JournalEntry | undefined {
    this.guard();
    const seq = this.seq++;
    const entry = this.journal.get(seq);
    if (entry !== undefined && entry.name !== label) {
      this.divergence = new FlotillaError('FLO_WORKFLOW_NONDETERMINISM', `workflow ${this.workflowId} step ${seq}: the journal has ${entry.name}, the code asked for ${label}`, {
        workflowId: this.workflowId,
        seq,
        journaled: entry.name,
        requested: label,
      });
      throw this.divergence;
    }
    return entry;
  }

  private guard(): void {
    if (this.end !== undefined) throw new Unwind();
    if (this.divergence !== undefined) throw this.divergence;
  }

  private unwind(end: RunEnd): Unwind {
    this.end ??= end;
    return new Unwind();
  }

  private markFailed(error: FlotillaError, seq: number): FlotillaError {
    this.failedSteps.set(error, seq);
    return error;
  }

  /** Commit one step; undefined when done, the refusal when a record conflict should retry the activity. */
  private async commitStep(entry: JournalEntry, act: StagedActivity | undefined): Promise<FlotillaError | undefined> {
    const result = await this.deps.queue.commit(this.commitOf({ records: act?.writes(), journal: { workflowId: this.workflowId, append: [...this.pending, entry] } }));
    if (result.ok) {
      for (const e of this.pending) this.journal.set(e.seq, e);
      this.journal.set(entry.seq, entry);
      this.pending = [];
      return undefined;
    }
    if (isFlotillaError(result.error, 'FLO_VERSION_CONFLICT') && result.error.details?.workflowId === undefined) return result.error;
    throw this.unwind({ kind: 'deposed', error: result.error });
  }

  /** Commit a workflow-level change with the pending entries; a RunEnd when refused. */
  private async commit(parts: Pick<DurableCommit, 'workflow' | 'timersSet'>, entry?: JournalEntry): Promise<RunEnd | undefined> {
    const append = entry === undefined ? this.pending : [...this.pending, entry];
    const result = await this.deps.queue.commit(this.commitOf({ ...parts, journal: append.length === 0 ? undefined : { workflowId: this.workflowId, append } }));
    if (!result.ok) return { kind: 'deposed', error: result.error };
    for (const e of append) this.journal.set(e.seq, e);
    this.pending = [];
    return undefined;
  }

  private commitOf(parts: Omit<DurableCommit, 'partition' | 'epoch' | 'writer'>): DurableCommit {
    return { ...parts, partition: this.deps.workflow.partition, epoch: this.deps.epoch, writer: this.deps.writer };
  }

  private row(): Omit<StoredWorkflow, 'partition' | 'status' | 'output'> {
    const w = this.deps.workflow;
    return { id: w.id, name: w.name, input: w.input };
  }
}
