/**
 * The in-memory store: the reference semantics of the storage contract, for unit tests
 * and for benchmarks that measure the entity runtime without a disk. Nothing survives
 * the process.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { claimError, compareCodePoints, fenceError, versionConflictError } from './fence-rules.js';
import type { CommitResult, DurableCommit, DurableTimer, LoadedWorkflow, StoredWorkflow, WorkflowPurge, WorkflowStatus } from './durable.js';
import { checkCommits, checkExpiredQuery, checkPurge, checkTimerId, checkTimerQuery, checkWorkflowId, checkWorkflowList } from './durable-validation.js';
import { MemoryDurableTables } from './memory-durable.js';
import type { EntityCount, EntityWrite, PartitionFence, Storage, StoredEntity, WriteResult } from './storage.js';
import { checkClaim, checkEntityKey, checkList, checkWrites, settle } from './validation.js';

export { checkEntityKey } from './validation.js';
export { claimError, fenceError } from './fence-rules.js';

/** The in-memory store. */
export class MemoryStorage implements Storage {
  readonly kind = 'memory' as const;
  readonly description = 'memory';
  private readonly fenceMap = new Map<number, PartitionFence>();
  private readonly entities = new Map<string, StoredEntity>();
  private readonly durable = new MemoryDurableTables(this.fenceMap, this.entities, keyOf);
  private closed = false;

  claimPartition(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence> {
    return settle(() => {
      this.checkOpen();
      checkClaim(partition, epoch, owner);
      const error = claimError(this.fenceMap.get(partition), partition, epoch, owner);
      if (error !== undefined) throw error;
      const fence = { partition, epoch, owner };
      this.fenceMap.set(partition, fence);
      return fence;
    });
  }

  fences(): Promise<PartitionFence[]> {
    return settle(() => {
      this.checkOpen();
      return [...this.fenceMap.values()].sort((a, b) => a.partition - b.partition);
    });
  }

  maxEpoch(): Promise<number> {
    return settle(() => {
      this.checkOpen();
      let max = 0;
      for (const f of this.fenceMap.values()) max = Math.max(max, f.epoch);
      return max;
    });
  }

  loadEntity(type: string, id: string): Promise<StoredEntity | undefined> {
    return settle(() => {
      this.checkOpen();
      checkEntityKey(type, id);
      const stored = this.entities.get(keyOf(type, id));
      return stored === undefined ? undefined : { ...stored, state: new Uint8Array(stored.state) };
    });
  }

  writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]> {
    return settle(() => {
      this.checkOpen();
      checkWrites(writes);
      return writes.map((w) => this.applyWrite(w));
    });
  }

  countEntities(): Promise<EntityCount[]> {
    return settle(() => {
      this.checkOpen();
      const counts = new Map<string, EntityCount>();
      for (const e of this.entities.values()) {
        const k = `${e.partition}\u0000${e.type}`;
        const c = counts.get(k);
        counts.set(k, { type: e.type, partition: e.partition, count: (c?.count ?? 0) + 1 });
      }
      return [...counts.values()].sort((a, b) => compareCodePoints(a.type, b.type) || a.partition - b.partition);
    });
  }

  listEntities(type: string, partition: number, limit: number): Promise<string[]> {
    return settle(() => {
      this.checkOpen();
      checkList(type, partition, limit);
      const ids: string[] = [];
      for (const e of this.entities.values()) if (e.type === type && e.partition === partition) ids.push(e.id);
      ids.sort(compareCodePoints);
      return ids.slice(0, limit);
    });
  }

  commitDurable(commits: readonly DurableCommit[]): Promise<CommitResult[]> {
    return settle(() => {
      this.checkOpen();
      checkCommits(commits);
      return commits.map((c) => this.durable.commit(c));
    });
  }

  loadWorkflow(id: string): Promise<LoadedWorkflow | undefined> {
    return settle(() => {
      this.checkOpen();
      checkWorkflowId(id);
      return this.durable.load(id);
    });
  }

  listWorkflows(partition: number, status: WorkflowStatus, limit: number): Promise<StoredWorkflow[]> {
    return settle(() => {
      this.checkOpen();
      checkWorkflowList(partition, status, limit);
      return this.durable.list(partition, status, limit);
    });
  }

  nextTimers(partitions: readonly number[], limit: number): Promise<DurableTimer[]> {
    return settle(() => {
      this.checkOpen();
      checkTimerQuery(partitions, limit);
      return this.durable.nextTimers(partitions, limit);
    });
  }

  loadTimer(id: string): Promise<DurableTimer | undefined> {
    return settle(() => {
      this.checkOpen();
      checkTimerId(id);
      return this.durable.timer(id);
    });
  }

  purgeWorkflows(purge: WorkflowPurge): Promise<string[]> {
    return settle(() => {
      this.checkOpen();
      checkPurge(purge);
      return this.durable.purge(purge);
    });
  }

  partitionsWithExpiredWorkflows(partitions: readonly number[], finishedMs: number): Promise<number[]> {
    return settle(() => {
      this.checkOpen();
      checkExpiredQuery(partitions, finishedMs);
      return this.durable.expiredPartitions(partitions, finishedMs);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private applyWrite(w: EntityWrite): WriteResult {
    const error = fenceError(this.fenceMap.get(w.partition), w);
    if (error !== undefined) return { ok: false, error };
    const key = keyOf(w.type, w.id);
    const currentVersion = this.entities.get(key)?.version ?? 0;
    if (currentVersion !== w.expectedVersion) return { ok: false, error: versionConflictError(w, currentVersion) };
    if (w.state === undefined) {
      this.entities.delete(key);
      return { ok: true, version: 0 };
    }
    const version = currentVersion + 1;
    this.entities.set(key, { type: w.type, id: w.id, partition: w.partition, state: new Uint8Array(w.state), version });
    return { ok: true, version };
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('FLO_STORAGE', 'storage is closed');
  }
}

function keyOf(type: string, id: string): string {
  return `${type}\u0000${id}`;
}
