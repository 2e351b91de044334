/**
 * Workflows as a partitioned service. An execution lives on the owner of
 * `partitionOf("workflow/" + id)`: a start is routed there, runs (or replays) the code
 * against its journal, and answers with the stored result. Starting an id that completed
 * answers its stored result; starting one that failed retries it from the failed step;
 * once retention deleted a finished execution, starting its id runs it anew.
 * When this node gains a partition it resumes the partition's running executions from
 * storage; sleeping ones come back through their durable timers or a signal.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import { Slots } from '../core/slots.js';
import type { NodeEntityGate } from '../entities/node-gate.js';
import { decodeState, decodeValue, encodeState, encodeValue } from '../entities/state-codec.js';
import type { PartitionedService, PartitionHandler, ShardContext } from '../sharding/service.js';
import type { ParticipantRole } from '../sharding/participant.js';
import type { DurableCommit, JournalEntry, LoadedWorkflow, StoredWorkflow } from '../storage/durable.js';
import { ENTITY_ID_LENGTH_MAX } from '../storage/validation.js';
import type { Storage } from '../storage/storage.js';
import { CHILD_HOP_WAIT_MS, CHILD_LINK_RECORD_TYPE, ChildHops, isChildDone, isChildStart } from './child-workflows.js';
import type { CommitQueue } from './commit-queue.js';
import type { DurableConfig } from './durable-config.js';
import { decodeOutcome, encodeOk, outcomeError } from './journal-codec.js';
import { OwnershipParticipant } from './ownership-participant.js';
import type { FiredTimer } from './timer-kind.js';
import type { TimerService } from './timer-service.js';
import type { AnyWorkflowDefinition, WorkflowDefinition } from './workflow-definition.js';
import { SIGNAL_RECORD_TYPE, WorkflowRun, WORKFLOW_SLEEP_KIND, type SleepPayload } from './workflow-run.js';
import { toExecution, type WorkflowExecution } from './workflow-execution.js';
import { WorkflowRetention } from './workflow-retention.js';
import { WorkflowWaiters } from './workflow-waiters.js';

export type { WorkflowExecution } from './workflow-execution.js';

/** `ServiceRequest.service` of workflow requests. */
export const WORKFLOW_SERVICE = 'workflows';

/** Longest execution id (leaves room for the sleep timers' ids). */
export const WORKFLOW_ID_LENGTH_MAX = ENTITY_ID_LENGTH_MAX - 64;

/** Most running executions read per partition when this node gains it. */
const RECOVERY_LIST_MAX = 10_000;

/** What the workflow service needs. */
export interface WorkflowServiceDeps {
  readonly nodeId: NodeId;
  readonly storage: Storage;
  readonly gate: NodeEntityGate;
  readonly queue: () => CommitQueue;
  readonly timers: TimerService;
  readonly definitions: readonly AnyWorkflowDefinition[];
  readonly config: DurableConfig;
  readonly logger: Logger;
}

interface StartRequest {
  readonly op: 'start';
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  readonly waitMs: number;
}

interface SignalRequest {
  readonly op: 'signal';
  readonly id: string;
  readonly name: string;
  readonly payload: unknown;
}

interface Create {
  readonly name: string;
  readonly input: Uint8Array;
}

/** The workflow service of one node. */
export class WorkflowService implements PartitionedService {
  readonly name = WORKFLOW_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: OwnershipParticipant;
  /** Deletes finished executions once their retention passed. */
  readonly retention: WorkflowRetention;
  /** Executions started or resumed here, and how they ended; steps that ran (not replayed). */
  readonly stats = { runs: 0, completed: 0, failed: 0, suspended: 0, deposed: 0, stepsRan: 0, recovered: 0 };
  private readonly definitions = new Map<string, AnyWorkflowDefinition>();
  private readonly runs = new Map<string, { partition: number; again: boolean; create: Create | undefined }>();
  private readonly waiters: WorkflowWaiters;
  /** Executions running at once, at most `workflowsActiveMax`; starts and recoveries beyond it wait. */
  private readonly slots: Slots;
  private readonly hops: ChildHops;
  /** Per firing (the same object reaches `changes` and `fired`): the execution as its wake commit stores it. */
  private readonly woken = new WeakMap<FiredTimer, LoadedWorkflow>();
  private ctx: ShardContext | undefined;
  private stopped = false;

  constructor(private readonly deps: WorkflowServiceDeps) {
    for (const d of deps.definitions) {
      if (this.definitions.has(d.name)) throw new FlotillaError('FLO_CONFIG_INVALID', `workflow ${d.name} is defined twice`);
      this.definitions.set(d.name, d);
    }
    this.slots = new Slots(deps.config.workflowsActiveMax);
    this.waiters = new WorkflowWaiters(() => this.requireCtx().timers, deps.config.workflowWaitersMax);
    this.handlers = [{ service: WORKFLOW_SERVICE, ownerOnly: true, isWrite: () => true, handle: (request) => this.serve(request.partition, request.payload) }];
    this.participant = new OwnershipParticipant(WORKFLOW_SERVICE, (p, role) => this.roleChanged(p, role));
    deps.timers.registerKind({
      kind: WORKFLOW_SLEEP_KIND,
      changes: (timer) => this.wakeChanges(timer),
      fired: (timer) => this.launch((timer.payload as SleepPayload).workflowId, timer.partition, undefined, false, this.woken.get(timer)),
    });
    this.hops = new ChildHops({
      writer: deps.nodeId,
      storage: deps.storage,
      gate: deps.gate,
      queue: deps.queue,
      route: (id, request) => {
        const ctx = this.requireCtx();
        return ctx.route(WORKFLOW_SERVICE, this.partitionOf(id), encodeValue(request), { deadline: ctx.timers.now() + CHILD_HOP_WAIT_MS });
      },
      launch: (id, partition, wake) => this.launch(id, partition, undefined, wake),
      refused: (error, partition, epoch) => this.notOwner(error, partition, epoch),
      defined: (name) => this.definitions.has(name),
    });
    for (const kind of this.hops.kinds()) deps.timers.registerKind(kind);
    const owned = (): readonly number[] => {
      const table = this.ctx?.table();
      return table === undefined || table.version === 0 ? [] : table.partitionsForNode(deps.nodeId).owned;
    };
    this.retention = new WorkflowRetention({ ...deps, owned, recordTypes: [SIGNAL_RECORD_TYPE], idRecordTypes: [CHILD_LINK_RECORD_TYPE] });
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    this.retention.start(ctx.timers);
  }

  stop(): void {
    this.stopped = true;
    this.retention.stop();
    for (const id of this.waiters.ids()) this.waiters.reject(id, new FlotillaError('FLO_NODE_STOPPED', 'workflow service stopped'));
  }

  /**
   * Start execution `id` of `definition` (or attach to it) on its owner and wait for its
   * result: a completed execution answers its stored result without running anything; a
   * failed one is retried from its failed step. Rejects with the workflow's error, or
   * FLO_TIMEOUT after `waitMs` (the execution goes on).
   */
  async run<I, O>(definition: WorkflowDefinition<I, O>, id: string, input: I, options: { readonly waitMs?: number } = {}): Promise<O> {
    const ctx = this.requireCtx();
    checkId(id);
    const waitMs = options.waitMs ?? this.deps.config.workflowWaitMs;
    const request: StartRequest = { op: 'start', id, name: definition.name, input: input ?? null, waitMs };
    const reply = await ctx.route(WORKFLOW_SERVICE, this.partitionOf(id), encodeValue(request), { deadline: ctx.timers.now() + waitMs });
    if (reply === undefined) throw new FlotillaError('FLO_INTERNAL', 'a workflow start answered nothing');
    const outcome = decodeOutcome(reply);
    if (!outcome.ok) throw outcomeError(outcome);
    return outcome.value as O;
  }

  /**
   * Send signal `name` with `payload` to execution `id` (which may not have started yet):
   * kept durably on the execution's owner and handed to the `ctx.signal(name)` that waits
   * for it. Resolves true when delivered, false when a signal of that name was already
   * delivered to the execution (each name is delivered once).
   */
  async signal(id: string, name: string, payload?: unknown): Promise<boolean> {
    const ctx = this.requireCtx();
    checkId(id);
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'a signal name is a string of 1..64 characters');
    const request: SignalRequest = { op: 'signal', id, name, payload: payload ?? null };
    const reply = await ctx.route(WORKFLOW_SERVICE, this.partitionOf(id), encodeValue(request));
    return reply !== undefined && decodeValue(reply) === true;
  }

  /** An execution as stored (any node may ask: storage is shared), or undefined. */
  async describe(id: string): Promise<WorkflowExecution | undefined> {
    checkId(id);
    const loaded = await this.deps.storage.loadWorkflow(id);
    return loaded === undefined ? undefined : toExecution(loaded);
  }

  /** A record written by activities, as stored now (any node may read: storage is shared), or undefined. */
  async record(type: string, id: string): Promise<unknown> {
    const stored = await this.deps.storage.loadEntity(type, id);
    return stored === undefined ? undefined : decodeState(stored.state).state;
  }

  /** The partition of an execution id. */
  partitionOf(id: string): number {
    return partitionOf(`workflow/${id}`, this.requireCtx().partitionCount);
  }

  /** Executions running in memory here. */
  activeRuns(): number {
    return this.runs.size;
  }

  private async serve(partition: number, payload: Uint8Array): Promise<Uint8Array> {
    const request = decodeValue(payload) as { op?: unknown; id?: unknown; name?: unknown; input?: unknown; waitMs?: unknown; payload?: unknown } | null;
    if (request === null || typeof request !== 'object' || typeof request.op !== 'string' || typeof request.id !== 'string') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'unreadable workflow request');
    checkId(request.id);
    if (request.op === 'child-start' && isChildStart(request)) return this.hops.start(partition, request);
    if (request.op === 'child-done' && isChildDone(request)) return this.hops.done(partition, request);
    if ((request.op !== 'start' && request.op !== 'signal') || typeof request.name !== 'string') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'unreadable workflow request');
    if (request.op === 'signal') return this.deliver(partition, request.id, request.name, request.payload);
    if (!this.definitions.has(request.name)) throw new FlotillaError('FLO_WORKFLOW_UNKNOWN', request.name);
    await this.deps.gate.admit(partition);
    const waitMs = Math.min(Math.max(1, Number(request.waitMs) || this.deps.config.workflowWaitMs), this.deps.config.workflowWaitMs);
    const answer = this.waiters.wait(request.id, waitMs);
    this.launch(request.id, partition, { name: request.name, input: encodeValue(request.input ?? null) });
    return answer;
  }

  /** Store a signal for an execution and wake it (it replays to its wait and finds the signal). */
  private async deliver(partition: number, id: string, name: string, payload: unknown): Promise<Uint8Array> {
    const epoch = await this.deps.gate.admit(partition);
    const record = { type: SIGNAL_RECORD_TYPE, id: `${id}/${name}`, state: encodeState({ state: payload ?? null, traits: {} }), expectedVersion: 0 };
    const result = await this.deps.queue().commit({ partition, epoch, writer: this.deps.nodeId, records: [record] });
    if (!result.ok && isFlotillaError(result.error, 'FLO_VERSION_CONFLICT')) return encodeValue(false);
    if (!result.ok) throw this.notOwner(result.error, partition, epoch);
    this.launch(id, partition, undefined, true);
    return encodeValue(true);
  }

  /**
   * Run (or resume) `id` here unless it already runs; a start or a signal meanwhile makes
   * it look again after. `wake`: replay a sleeping execution too (a signal may be what it
   * waits for; a sleep whose timer is pending just suspends again).
   */
  private launch(id: string, partition: number, create?: Create, wake = false, stored?: LoadedWorkflow): void {
    const running = this.runs.get(id);
    if (running !== undefined) {
      running.again = true;
      running.create ??= create;
      return;
    }
    const entry: { partition: number; again: boolean; create: Create | undefined } = { partition, again: false, create: undefined };
    this.runs.set(id, entry);
    void this.execute(id, partition, create, wake, stored).finally(() => {
      this.runs.delete(id);
      // A start that came meanwhile may be the first: it brings what creating the execution needs.
      if (entry.again && !this.stopped) this.launch(id, partition, entry.create ?? create, true);
    });
  }

  private async execute(id: string, partition: number, create: Create | undefined, wake: boolean, stored: LoadedWorkflow | undefined): Promise<void> {
    await this.slots.acquire();
    try {
      const epoch = await this.deps.gate.admit(partition);
      const ready = await this.prepare(id, partition, epoch, create, wake, stored);
      if (ready === undefined) return;
      const definition = this.definitions.get(ready.workflow.name);
      if (definition === undefined) {
        this.waiters.reject(id, new FlotillaError('FLO_WORKFLOW_UNKNOWN', `${ready.workflow.name} is not defined on node ${this.deps.nodeId}`));
        return;
      }
      this.stats.runs++;
      const run = new WorkflowRun({
        writer: this.deps.nodeId,
        epoch,
        workflow: ready.workflow,
        journal: ready.journal,
        definition,
        storage: this.deps.storage,
        queue: this.deps.queue(),
        timers: this.requireCtx().timers,
        config: this.deps.config,
        idLengthMax: WORKFLOW_ID_LENGTH_MAX,
        scheduled: (timer) => this.deps.timers.noteScheduled(timer),
        stepRan: () => this.stats.stepsRan++,
      });
      const end = await run.execute();
      if (end.kind === 'completed' || end.kind === 'failed') {
        this.stats[end.kind]++;
        this.waiters.resolve(id, end.output);
      } else if (end.kind === 'suspended') {
        this.stats.suspended++;
      } else {
        this.stats.deposed++;
        throw this.notOwner(end.error, partition, epoch);
      }
    } catch (error) {
      if (!isFlotillaError(error, 'FLO_NOT_OWNER')) this.deps.logger.warn({ err: error, workflowId: id }, 'workflows: execution stopped on this node');
      this.waiters.reject(id, isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', String(error)));
    } finally {
      this.slots.release();
    }
  }

  /**
   * Load (or create) the execution and decide: run it (with its journal), answer a
   * finished one, leave a sleeping one to its timer. A failed one is retried only by a
   * start, from its failed step (that step's journal entry is dropped).
   */
  private async prepare(id: string, partition: number, epoch: number, create: Create | undefined, wake: boolean, stored: LoadedWorkflow | undefined): Promise<{ workflow: StoredWorkflow; journal: readonly JournalEntry[] } | undefined> {
    const loaded = stored ?? (await this.deps.storage.loadWorkflow(id));
    if (loaded === undefined) {
      if (create === undefined) return undefined;
      const workflow: StoredWorkflow = { id, partition, name: create.name, status: 'running', input: create.input, output: undefined };
      await this.commit({ partition, epoch, writer: this.deps.nodeId, workflow }, epoch);
      return { workflow, journal: [] };
    }
    const w = loaded.workflow;
    if (create !== undefined && create.name !== w.name) {
      this.waiters.reject(id, new FlotillaError('FLO_INVALID_ARGUMENT', `execution ${id} is a ${w.name} workflow, not ${create.name}`));
      return undefined;
    }
    if (w.status === 'completed') {
      this.waiters.resolve(id, w.output ?? encodeOk(null));
      return undefined;
    }
    if (w.status === 'sleeping') return wake ? loaded : undefined;
    if (w.status === 'running') return loaded;
    if (create === undefined) {
      this.waiters.resolve(id, w.output ?? encodeOk(null));
      return undefined;
    }
    const failure = w.output === undefined ? undefined : decodeOutcome(w.output);
    const failedStep = failure !== undefined && !failure.ok ? Number((failure.details as { failedStep?: unknown } | undefined)?.failedStep ?? Number.NaN) : Number.NaN;
    const truncateFrom = Number.isSafeInteger(failedStep) ? failedStep : undefined;
    const workflow: StoredWorkflow = { ...w, status: 'running', output: undefined };
    await this.commit({ partition, epoch, writer: this.deps.nodeId, workflow, ...(truncateFrom === undefined ? {} : { journal: { workflowId: id, truncateFrom, append: [] } }) }, epoch);
    return { workflow, journal: truncateFrom === undefined ? loaded.journal : loaded.journal.filter((e) => e.seq < truncateFrom) };
  }

  private async commit(commit: DurableCommit, epoch: number): Promise<void> {
    const result = await this.deps.queue().commit(commit);
    if (!result.ok) throw this.notOwner(result.error, commit.partition, epoch);
  }

  private notOwner(error: FlotillaError, partition: number, epoch: number): FlotillaError {
    if (!isFlotillaError(error, 'FLO_STALE_EPOCH')) return error;
    this.deps.gate.deposed(partition, epoch);
    return new FlotillaError('FLO_NOT_OWNER', `workflows of partition ${partition}: deposed`, { partition });
  }

  /** The firing of a sleep's timer: journal the sleep as done and mark the execution running, in the same commit. */
  private async wakeChanges(timer: FiredTimer): Promise<Pick<DurableCommit, 'workflow' | 'journal'> | undefined> {
    const payload = timer.payload as SleepPayload;
    const loaded = await this.deps.storage.loadWorkflow(payload.workflowId);
    if (loaded === undefined || loaded.workflow.status !== 'sleeping') return undefined;
    const { partition: _p, ...row } = loaded.workflow;
    const done = loaded.journal.some((e) => e.seq === payload.seq);
    const entry: JournalEntry = { seq: payload.seq, name: payload.label, outcome: encodeOk(null) };
    // What the firing's commit leaves stored, so the replay it launches need not read the
    // execution again. Only a fresh launch uses it (a run already going reloads after).
    const journal = done ? loaded.journal : [...loaded.journal, entry].sort((a, b) => a.seq - b.seq);
    this.woken.set(timer, { workflow: { ...loaded.workflow, status: 'running', output: undefined }, journal });
    return { workflow: { ...row, status: 'running', output: undefined }, ...(done ? {} : { journal: { workflowId: payload.workflowId, append: [entry] } }) };
  }

  private roleChanged(partition: number, role: ParticipantRole): void {
    const ctx = this.ctx;
    if (ctx === undefined || this.stopped) return;
    if (role === 'owner') {
      this.deps.gate.claimOwned(partition);
      void this.recover(partition);
      return;
    }
    // Callers waiting here for this partition's executions retry at the new owner.
    for (const id of this.waiters.ids()) {
      if (this.partitionOf(id) === partition) this.waiters.reject(id, new FlotillaError('FLO_NOT_OWNER', `workflow ${id} moved`, { partition }));
    }
  }

  /** Resume the running executions of a partition this node just gained. */
  private async recover(partition: number): Promise<void> {
    try {
      const running = await this.deps.storage.listWorkflows(partition, 'running', RECOVERY_LIST_MAX);
      for (const w of running) {
        if (this.runs.has(w.id)) continue;
        this.stats.recovered++;
        this.launch(w.id, partition);
      }
    } catch (err) {
      this.deps.logger.warn({ err, partition }, 'workflows: could not list executions to resume');
    }
  }

  private requireCtx(): ShardContext {
    if (this.ctx === undefined || this.stopped || this.ctx.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', 'workflow service is not running');
    return this.ctx;
  }
}

function checkId(id: unknown): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > WORKFLOW_ID_LENGTH_MAX || id.includes('\u0000')) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `a workflow id is a non-empty string of at most ${WORKFLOW_ID_LENGTH_MAX} characters without NUL`);
  }
}
