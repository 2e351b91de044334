/**
 * Workflow retention: finished executions (completed or failed) and their journals,
 * signals and (for a child) link to the parent are deleted once `durable.workflowRetentionMs` has passed since they finished,
 * so storage does not grow with every execution ever run. The owner of each partition
 * sweeps it now and then, in bounded batches (one short transaction each) behind the
 * partition's fence. A start with the id of a deleted execution runs it anew.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import type { TimerHandle, Timers } from '../core/timers.js';
import type { NodeEntityGate } from '../entities/node-gate.js';
import type { Storage } from '../storage/storage.js';
import type { DurableConfig } from './durable-config.js';

/** Most batches one sweep deletes from one partition; the rest waits for the next sweep. */
export const PURGE_BATCHES_PER_PARTITION_MAX = 64;

/** What retention needs. */
export interface WorkflowRetentionDeps {
  readonly nodeId: NodeId;
  readonly storage: Storage;
  readonly gate: NodeEntityGate;
  readonly config: DurableConfig;
  readonly logger: Logger;
  /** Partitions this node owns now. */
  readonly owned: () => readonly number[];
  /** Entity record types owned by an execution (`<execution id>/...`), deleted with it. */
  readonly recordTypes: readonly string[];
  /** Entity record types whose record with the execution's own id belongs to it, deleted with it. */
  readonly idRecordTypes: readonly string[];
}

/** The retention sweeper of one node. */
export class WorkflowRetention {
  /** Executions deleted here, sweeps done, sweeps that met an error. */
  readonly stats = { purged: 0, sweeps: 0, failedSweeps: 0 };
  private timers: Timers | undefined;
  private armed: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly deps: WorkflowRetentionDeps) {}

  /** Start sweeping (nothing to do when retention is off). */
  start(timers: Timers): void {
    this.timers = timers;
    if (this.deps.config.workflowRetentionMs > 0) this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.armed?.cancel();
    this.armed = undefined;
  }

  /** One sweep of every owned partition now; answers how many executions it deleted. */
  async sweep(): Promise<number> {
    if (this.deps.config.workflowRetentionMs === 0) return 0;
    let purged = 0;
    this.stats.sweeps++;
    const owned = this.deps.owned();
    if (owned.length === 0) return 0;
    for (const partition of await this.deps.storage.partitionsWithExpiredWorkflows(owned, this.deps.config.workflowRetentionMs)) {
      if (this.stopped) break;
      try {
        purged += await this.purgePartition(partition);
      } catch (err) {
        if (isFlotillaError(err, 'FLO_NOT_OWNER') || isFlotillaError(err, 'FLO_STALE_EPOCH')) continue;
        this.stats.failedSweeps++;
        this.deps.logger.warn({ err, partition }, 'workflows: deleting expired executions failed; retrying at the next sweep');
        break;
      }
    }
    return purged;
  }

  private async purgePartition(partition: number): Promise<number> {
    const epoch = await this.deps.gate.admit(partition);
    const limit = this.deps.config.workflowPurgeBatchMax;
    let purged = 0;
    for (let batch = 0; batch < PURGE_BATCHES_PER_PARTITION_MAX && !this.stopped; batch++) {
      const ids = await this.deps.storage.purgeWorkflows({
        partition,
        epoch,
        writer: this.deps.nodeId,
        finishedMs: this.deps.config.workflowRetentionMs,
        limit,
        recordTypes: this.deps.recordTypes,
        idRecordTypes: this.deps.idRecordTypes,
      });
      purged += ids.length;
      this.stats.purged += ids.length;
      if (ids.length < limit) break;
    }
    return purged;
  }

  private arm(): void {
    const timers = this.timers;
    if (timers === undefined || this.stopped) return;
    this.armed = timers.at(timers.now() + this.deps.config.workflowPurgeIntervalMs, () => {
      this.armed = undefined;
      if (this.stopped) return;
      void this.sweep()
        .catch((err: unknown) => this.deps.logger.warn({ err: err instanceof Error ? err : new FlotillaError('FLO_INTERNAL', String(err)) }, 'workflows: retention sweep failed'))
        .finally(() => this.arm());
    });
  }
}
