/**
 * Child workflows across partitions: a parent's `ctx.child` commits its sleep together
 * with a start timer (an outbox row in the parent's partition); firing it asks the child's
 * owner to create the child linked to the parent's step. The child's completion commits a
 * done timer in the child's partition; firing it journals the child's outcome as the
 * parent's step and wakes the parent. Both hops are timers, so each survives crashes and
 * moves and is retried until its commit lands; both are idempotent by execution id.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { decodeState, decodeValue, encodeState, encodeValue } from '../entities/state-codec.js';
import type { NodeEntityGate } from '../entities/node-gate.js';
import type { DurableCommit, DurableTimer, RecordWrite } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';
import type { CommitQueue } from './commit-queue.js';
import { decodeOutcome, encodeError } from './journal-codec.js';
import type { FiringChanges, TimerKind } from './timer-kind.js';

/** Timer kind of a parent's request to start its child (in the parent's partition). */
export const WORKFLOW_CHILD_START_KIND = 'workflow.child-start';

/** Timer kind of a child's report to its parent (in the child's partition). */
export const WORKFLOW_CHILD_DONE_KIND = 'workflow.child-done';

/** Record type linking a child execution to its parent's step (id: the child's execution id). */
export const CHILD_LINK_RECORD_TYPE = 'flotilla.child-link';

/** How long one hop (start, report) may take before its timer is retried, ms. */
export const CHILD_HOP_WAIT_MS = 10_000;

/** Which parent step waits for a child. */
export interface ChildLink {
  readonly parentId: string;
  readonly seq: number;
  /** The parent's journal label of that step. */
  readonly label: string;
}

/** Payload of a start timer. */
export interface ChildStartPayload extends ChildLink {
  readonly childId: string;
  readonly name: string;
  readonly input: Uint8Array;
}

/** Payload of a done timer: the child's stored output. */
export interface ChildDonePayload extends ChildLink {
  readonly childId: string;
  readonly output: Uint8Array;
}

/** A start request to the child's owner. */
export interface ChildStartRequest extends ChildStartPayload {
  readonly op: 'child-start';
  readonly id: string;
}

/** A report to the parent's owner. */
export interface ChildDoneRequest extends ChildDonePayload {
  readonly op: 'child-done';
  readonly id: string;
}

/** The journal label of a child step. */
export function childLabel(name: string, childId: string): string {
  return `child:${name}/${childId}`;
}

/** The parent's journal outcome for a child's stored output: its value, or FLO_CHILD_WORKFLOW_FAILED naming the child's error. */
export function parentOutcome(childId: string, output: Uint8Array): Uint8Array {
  const outcome = decodeOutcome(output);
  if (outcome.ok) return output;
  const details = typeof outcome.details === 'object' && outcome.details !== null ? (outcome.details as Record<string, unknown>) : {};
  const error = new FlotillaError('FLO_CHILD_WORKFLOW_FAILED', `${childId}: ${outcome.message}`, { ...details, childWorkflowId: childId, childCode: outcome.code });
  return encodeError(error, 'FLO_CHILD_WORKFLOW_FAILED');
}

/** The link record written with a child's creation (version 0: refused if a link exists). */
export function linkWrite(childId: string, link: ChildLink): RecordWrite {
  return { type: CHILD_LINK_RECORD_TYPE, id: childId, state: encodeState({ state: { ...link }, traits: {} }), expectedVersion: 0 };
}

/** The link of a child execution, or undefined for a top-level one. */
export async function loadLink(storage: Storage, childId: string): Promise<ChildLink | undefined> {
  const stored = await storage.loadEntity(CHILD_LINK_RECORD_TYPE, childId);
  if (stored === undefined) return undefined;
  const link = decodeState(stored.state).state as Partial<ChildLink> | null;
  if (link === null || typeof link.parentId !== 'string' || typeof link.seq !== 'number' || typeof link.label !== 'string') return undefined;
  return { parentId: link.parentId, seq: link.seq, label: link.label };
}

/** The done timer a child's completion commits, when it has a parent. */
export function doneTimer(childId: string, link: ChildLink, output: Uint8Array, now: number): Omit<DurableTimer, 'partition'> {
  const payload: ChildDonePayload = { ...link, childId, output };
  return { id: `workflow/${childId}/parent`, dueAt: now, kind: WORKFLOW_CHILD_DONE_KIND, payload: encodeValue(payload) };
}

/** Whether a decoded request is a well-formed start request. */
export function isChildStart(r: object): r is ChildStartRequest {
  const c = r as Partial<ChildStartRequest>;
  return typeof c.parentId === 'string' && typeof c.childId === 'string' && c.childId === c.id && typeof c.name === 'string' && Number.isSafeInteger(c.seq) && typeof c.label === 'string' && c.input instanceof Uint8Array;
}

/** Whether a decoded request is a well-formed report. */
export function isChildDone(r: object): r is ChildDoneRequest {
  const c = r as Partial<ChildDoneRequest>;
  return typeof c.parentId === 'string' && c.parentId === c.id && typeof c.childId === 'string' && Number.isSafeInteger(c.seq) && typeof c.label === 'string' && c.output instanceof Uint8Array;
}

/** What the hops need from the workflow service. */
export interface ChildHopsDeps {
  readonly writer: string;
  readonly storage: Storage;
  readonly gate: NodeEntityGate;
  readonly queue: () => CommitQueue;
  /** Route a workflow request to the owner of the partition of execution `id`. */
  route(id: string, request: ChildStartRequest | ChildDoneRequest): Promise<Uint8Array | undefined>;
  /** Run (or resume) an execution here; `wake`: replay a sleeping one too. */
  launch(id: string, partition: number, wake: boolean): void;
  /** The refusal of a commit as the caller should see it (a stale epoch deposes this node). */
  refused(error: FlotillaError, partition: number, epoch: number): FlotillaError;
  /** Whether a workflow name is defined here. */
  defined(name: string): boolean;
}

/** The two hops of child workflows, served on the owners of the partitions involved. */
export class ChildHops {
  constructor(private readonly deps: ChildHopsDeps) {}

  /** The timer kinds the timer service fires for the hops. */
  kinds(): TimerKind[] {
    return [
      {
        kind: WORKFLOW_CHILD_START_KIND,
        changes: (timer) => this.startFired(timer.payload as ChildStartPayload),
        fired: (timer) => this.deps.launch((timer.payload as ChildStartPayload).parentId, timer.partition, false),
      },
      {
        kind: WORKFLOW_CHILD_DONE_KIND,
        deliver: async (timer) => {
          const p = timer.payload as ChildDonePayload;
          await this.deps.route(p.parentId, { op: 'child-done', id: p.parentId, parentId: p.parentId, seq: p.seq, label: p.label, childId: p.childId, output: p.output });
        },
      },
    ];
  }

  /**
   * On the child's owner: create the child linked to the parent's step, or find it.
   * Answers `{ pending: true }` while the child runs (its completion will report), or
   * `{ output }` when there is an outcome to journal now.
   */
  async start(partition: number, r: ChildStartRequest): Promise<Uint8Array> {
    if (!this.deps.defined(r.name)) return answer(encodeError(new FlotillaError('FLO_WORKFLOW_UNKNOWN', r.name), 'FLO_WORKFLOW_UNKNOWN'));
    const epoch = await this.deps.gate.admit(partition);
    const link: ChildLink = { parentId: r.parentId, seq: r.seq, label: r.label };
    const loaded = await this.deps.storage.loadWorkflow(r.childId);
    if (loaded === undefined) {
      const workflow = { id: r.childId, name: r.name, status: 'running' as const, input: new Uint8Array(r.input), output: undefined };
      const result = await this.deps.queue().commit({ partition, epoch, writer: this.deps.writer, workflow, records: [linkWrite(r.childId, link)] });
      if (!result.ok) throw this.deps.refused(result.error, partition, epoch);
      this.deps.launch(r.childId, partition, false);
      return encodeValue({ pending: true });
    }
    const w = loaded.workflow;
    if (w.name !== r.name) return answer(encodeError(new FlotillaError('FLO_INVALID_ARGUMENT', `execution ${r.childId} is a ${w.name} workflow, not ${r.name}`), 'FLO_INVALID_ARGUMENT'));
    if (w.status === 'completed' && w.output !== undefined) return answer(w.output);
    const existing = await loadLink(this.deps.storage, r.childId);
    const ours = existing !== undefined && existing.parentId === link.parentId && existing.seq === link.seq;
    if (!ours) {
      if (w.status === 'failed' && w.output !== undefined) return answer(w.output);
      return answer(encodeError(new FlotillaError('FLO_INVALID_ARGUMENT', `execution ${r.childId} already runs and is not the child of ${r.parentId} step ${r.seq}`), 'FLO_INVALID_ARGUMENT'));
    }
    // Our child failed and the parent retries that step: retry the child from its failed step.
    if (w.status === 'failed') await this.retryFailed(partition, epoch, r.childId);
    else this.deps.launch(r.childId, partition, false);
    return encodeValue({ pending: true });
  }

  /** On the parent's owner: journal the child's outcome as the parent's step and wake the parent. */
  async done(partition: number, r: ChildDoneRequest): Promise<Uint8Array> {
    const epoch = await this.deps.gate.admit(partition);
    const changes = await this.parentChanges(r, r.output);
    if (changes !== undefined) {
      const result = await this.deps.queue().commit({ partition, epoch, writer: this.deps.writer, ...changes });
      if (!result.ok && !isFlotillaError(result.error, 'FLO_VERSION_CONFLICT')) throw this.deps.refused(result.error, partition, epoch);
    }
    this.deps.launch(r.parentId, partition, true);
    return encodeValue(true);
  }

  /** The start timer fired on the parent's owner: ask the child's owner; journal an outcome that is already there. */
  private async startFired(p: ChildStartPayload): Promise<FiringChanges | undefined> {
    const reply = await this.deps.route(p.childId, { ...p, op: 'child-start', id: p.childId });
    const decoded = reply === undefined ? undefined : (decodeValue(reply) as { pending?: unknown; output?: unknown } | null);
    if (decoded === null || decoded === undefined || typeof decoded !== 'object') throw new FlotillaError('FLO_INTERNAL', `child ${p.childId}: unreadable start answer`);
    if (!(decoded.output instanceof Uint8Array)) return undefined;
    return this.parentChanges(p, decoded.output);
  }

  /**
   * What the parent's partition commits for a child outcome: the step's entry and the
   * running status, unless the step is journaled already (then only a wake of a sleeping
   * parent) or the parent finished.
   */
  private async parentChanges(link: ChildLink & { readonly childId: string }, output: Uint8Array): Promise<Pick<DurableCommit, 'workflow' | 'journal'> | undefined> {
    const loaded = await this.deps.storage.loadWorkflow(link.parentId);
    if (loaded === undefined) return undefined;
    const { partition: _p, ...row } = loaded.workflow;
    if (row.status === 'completed' || row.status === 'failed') return undefined;
    const journaled = loaded.journal.some((e) => e.seq === link.seq);
    if (journaled) return row.status === 'sleeping' ? { workflow: { ...row, status: 'running', output: undefined } } : undefined;
    return {
      workflow: { ...row, status: 'running', output: undefined },
      journal: { workflowId: link.parentId, append: [{ seq: link.seq, name: link.label, outcome: parentOutcome(link.childId, output) }] },
    };
  }

  private async retryFailed(partition: number, epoch: number, childId: string): Promise<void> {
    const loaded = await this.deps.storage.loadWorkflow(childId);
    if (loaded === undefined || loaded.workflow.status !== 'failed') {
      this.deps.launch(childId, partition, false);
      return;
    }
    const w = loaded.workflow;
    const failure = w.output === undefined ? undefined : decodeOutcome(w.output);
    const failedStep = failure !== undefined && !failure.ok ? Number((failure.details as { failedStep?: unknown } | undefined)?.failedStep ?? Number.NaN) : Number.NaN;
    const { partition: _p, ...row } = w;
    const commit: DurableCommit = {
      partition,
      epoch,
      writer: this.deps.writer,
      workflow: { ...row, status: 'running', output: undefined },
      ...(Number.isSafeInteger(failedStep) ? { journal: { workflowId: childId, truncateFrom: failedStep, append: [] } } : {}),
    };
    const result = await this.deps.queue().commit(commit);
    if (!result.ok) throw this.deps.refused(result.error, partition, epoch);
    this.deps.launch(childId, partition, false);
  }
}

function answer(output: Uint8Array): Uint8Array {
  return encodeValue({ output });
}
