/**
 * The in-memory store's durable-execution tables: the reference semantics of
 * `commitDurable` (each commit all or nothing, behind the fence), journals and timers.
 * A commit is applied step by step with an undo log, so a refusal part-way restores
 * everything it touched.
 */
import { FlotillaError } from '../core/errors.js';
import { compareCodePoints, fenceError, versionConflictError } from './fence-rules.js';
import type { CommitResult, DurableCommit, DurableTimer, JournalEntry, LoadedWorkflow, StoredWorkflow, WorkflowPurge, WorkflowStatus } from './durable.js';
import { journalConflictError, ownedRecordRange, timerGoneError } from './durable-validation.js';
import type { PartitionFence, StoredEntity } from './storage.js';

/** Why a commit was refused, carried out of the apply step to the undo. */
class Refused extends Error {
  constructor(readonly error: FlotillaError) {
    super(error.message);
  }
}

/** The durable tables of one in-memory store. */
export class MemoryDurableTables {
  private readonly workflows = new Map<string, StoredWorkflow>();
  private readonly journals = new Map<string, Map<number, JournalEntry>>();
  private readonly timers = new Map<string, DurableTimer>();
  /** When each workflow record last changed (the store's clock, ms): what retention measures. */
  private readonly changedAt = new Map<string, number>();

  constructor(
    private readonly fences: ReadonlyMap<number, PartitionFence>,
    private readonly entities: Map<string, StoredEntity>,
    private readonly entityKey: (type: string, id: string) => string,
  ) {}

  commit(c: DurableCommit): CommitResult {
    const undo: (() => void)[] = [];
    try {
      const fence = fenceError(this.fences.get(c.partition), c);
      if (fence !== undefined) throw new Refused(fence);
      const versions = this.applyRecords(c, undo);
      if (c.workflow !== undefined) this.setWorkflow({ ...c.workflow, partition: c.partition }, undo);
      if (c.journal !== undefined) this.applyJournal(c.journal, undo);
      this.applyTimers(c, undo);
      return { ok: true, versions };
    } catch (error) {
      for (const u of undo.reverse()) u();
      if (error instanceof Refused) return { ok: false, error: error.error };
      throw error;
    }
  }

  load(id: string): LoadedWorkflow | undefined {
    const workflow = this.workflows.get(id);
    if (workflow === undefined) return undefined;
    const journal = [...(this.journals.get(id)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(copyEntry);
    return { workflow: copyWorkflow(workflow), journal };
  }

  list(partition: number, status: WorkflowStatus, limit: number): StoredWorkflow[] {
    const found = [...this.workflows.values()].filter((w) => w.partition === partition && w.status === status);
    return found.sort((a, b) => compareCodePoints(a.id, b.id)).slice(0, limit).map(copyWorkflow);
  }

  nextTimers(partitions: readonly number[], limit: number): DurableTimer[] {
    const wanted = new Set(partitions);
    const found = [...this.timers.values()].filter((t) => wanted.has(t.partition));
    return found.sort((a, b) => a.dueAt - b.dueAt || compareCodePoints(a.id, b.id)).slice(0, limit).map(copyTimer);
  }

  expiredPartitions(partitions: readonly number[], finishedMs: number): number[] {
    const before = Date.now() - finishedMs;
    const wanted = new Set(partitions);
    const found = new Set<number>();
    for (const w of this.workflows.values()) {
      if (wanted.has(w.partition) && (w.status === 'completed' || w.status === 'failed') && (this.changedAt.get(w.id) ?? 0) < before) found.add(w.partition);
    }
    return [...found].sort((a, b) => a - b);
  }

  purge(p: WorkflowPurge): string[] {
    const before = Date.now() - p.finishedMs;
    const expired = [...this.workflows.values()]
      .filter((w) => w.partition === p.partition && (w.status === 'completed' || w.status === 'failed') && (this.changedAt.get(w.id) ?? 0) < before)
      .sort((a, b) => (this.changedAt.get(a.id) ?? 0) - (this.changedAt.get(b.id) ?? 0))
      .slice(0, p.limit)
      .map((w) => w.id);
    // Nothing to delete answers at once, as the SQL stores do without a transaction.
    if (expired.length === 0) return [];
    const fence = fenceError(this.fences.get(p.partition), p);
    if (fence !== undefined) throw fence;
    for (const id of expired) {
      this.workflows.delete(id);
      this.changedAt.delete(id);
      this.journals.delete(id);
      const { from, to } = ownedRecordRange(id);
      for (const [key, e] of [...this.entities]) {
        if (p.recordTypes.includes(e.type) && compareCodePoints(e.id, from) >= 0 && compareCodePoints(e.id, to) < 0) this.entities.delete(key);
      }
      for (const type of p.idRecordTypes ?? []) this.entities.delete(this.entityKey(type, id));
    }
    return expired;
  }

  timer(id: string): DurableTimer | undefined {
    const t = this.timers.get(id);
    return t === undefined ? undefined : copyTimer(t);
  }

  private applyRecords(c: DurableCommit, undo: (() => void)[]): number[] {
    return (c.records ?? []).map((r) => {
      const key = this.entityKey(r.type, r.id);
      const before = this.entities.get(key);
      const currentVersion = before?.version ?? 0;
      if (currentVersion !== r.expectedVersion) throw new Refused(versionConflictError(r, currentVersion));
      undo.push(() => (before === undefined ? this.entities.delete(key) : this.entities.set(key, before)));
      if (r.state === undefined) {
        this.entities.delete(key);
        return 0;
      }
      this.entities.set(key, { type: r.type, id: r.id, partition: c.partition, state: new Uint8Array(r.state), version: currentVersion + 1 });
      return currentVersion + 1;
    });
  }

  private setWorkflow(w: StoredWorkflow, undo: (() => void)[]): void {
    const before = this.workflows.get(w.id);
    const changedBefore = this.changedAt.get(w.id);
    undo.push(() => {
      if (before === undefined) this.workflows.delete(w.id);
      else this.workflows.set(w.id, before);
      if (changedBefore === undefined) this.changedAt.delete(w.id);
      else this.changedAt.set(w.id, changedBefore);
    });
    this.workflows.set(w.id, copyWorkflow(w));
    this.changedAt.set(w.id, Date.now());
  }

  private applyJournal(j: NonNullable<DurableCommit['journal']>, undo: (() => void)[]): void {
    let entries = this.journals.get(j.workflowId);
    if (entries === undefined) {
      entries = new Map();
      this.journals.set(j.workflowId, entries);
    }
    const target = entries;
    if (j.truncateFrom !== undefined) {
      for (const [seq, e] of [...target]) {
        if (seq < j.truncateFrom) continue;
        target.delete(seq);
        undo.push(() => target.set(seq, e));
      }
    }
    for (const e of j.append) {
      if (target.has(e.seq)) throw new Refused(journalConflictError(j.workflowId, e.seq));
      target.set(e.seq, copyEntry(e));
      undo.push(() => target.delete(e.seq));
    }
  }

  private applyTimers(c: DurableCommit, undo: (() => void)[]): void {
    for (const d of c.timersDelete ?? []) {
      const before = this.timers.get(d.id);
      if (before === undefined || before.partition !== c.partition) {
        if (d.mustExist) throw new Refused(timerGoneError(d.id, c.partition));
        continue;
      }
      this.timers.delete(d.id);
      undo.push(() => this.timers.set(d.id, before));
    }
    for (const t of c.timersSet ?? []) {
      const before = this.timers.get(t.id);
      if (before !== undefined && before.partition !== c.partition) {
        throw new Refused(new FlotillaError('FLO_INVALID_ARGUMENT', `timer ${t.id} belongs to partition ${before.partition}`, { timerId: t.id }));
      }
      undo.push(() => (before === undefined ? this.timers.delete(t.id) : this.timers.set(t.id, before)));
      this.timers.set(t.id, copyTimer({ ...t, partition: c.partition }));
    }
  }
}

function copyWorkflow(w: StoredWorkflow): StoredWorkflow {
  return { id: w.id, partition: w.partition, name: w.name, status: w.status, input: new Uint8Array(w.input), output: w.output === undefined ? undefined : new Uint8Array(w.output) };
}

function copyEntry(e: JournalEntry): JournalEntry {
  return { seq: e.seq, name: e.name, outcome: new Uint8Array(e.outcome) };
}

function copyTimer(t: DurableTimer): DurableTimer {
  return { id: t.id, partition: t.partition, dueAt: t.dueAt, kind: t.kind, payload: new Uint8Array(t.payload) };
}
