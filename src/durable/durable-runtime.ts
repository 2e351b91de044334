/**
 * Durable execution on one node: the timer service and the workflow service, the
 * partition gate they share (claims of the storage fence at the table's epoch) and the
 * group-commit queue their commits go through. The node registers both services with the
 * sharding layer.
 */
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { NodeEntityGate } from '../entities/node-gate.js';
import type { ShardContext } from '../sharding/service.js';
import type { Storage } from '../storage/storage.js';
import { CommitQueue } from './commit-queue.js';
import type { DurableConfig } from './durable-config.js';
import type { TimerKind } from './timer-kind.js';
import { TimerService } from './timer-service.js';
import type { AnyWorkflowDefinition } from './workflow-definition.js';
import { WorkflowService } from './workflow-service.js';

/** How to build durable execution for a node. */
export interface DurableRuntimeOptions {
  readonly nodeId: NodeId;
  readonly storage: Storage;
  readonly workflows: readonly AnyWorkflowDefinition[];
  readonly timerKinds: readonly TimerKind[];
  readonly config: DurableConfig;
  readonly logger: Logger;
}

/** The node's timer and workflow services. */
export class DurableRuntime {
  readonly timers: TimerService;
  readonly workflows: WorkflowService;
  private ctx: ShardContext | undefined;
  private queueValue: CommitQueue | undefined;

  constructor(options: DurableRuntimeOptions) {
    const gate = new NodeEntityGate({
      self: options.nodeId,
      storage: options.storage,
      logger: options.logger,
      claimWaitMs: options.config.workflowWaitMs,
      timers: () => this.context().timers,
      table: () => (this.ctx === undefined || this.ctx.stopped() ? undefined : this.ctx.table()),
    });
    const queue = (): CommitQueue => {
      this.queueValue ??= new CommitQueue(options.storage, options.config.commitBatchMax, (fn) => this.context().timers.defer(fn));
      return this.queueValue;
    };
    const timers = new TimerService({
      nodeId: options.nodeId,
      storage: options.storage,
      gate,
      queue,
      config: options.config,
      logger: options.logger,
      onStart: (ctx) => (this.ctx = ctx),
    });
    for (const kind of options.timerKinds) timers.registerKind(kind);
    this.timers = timers;
    this.workflows = new WorkflowService({ nodeId: options.nodeId, storage: options.storage, gate, queue, timers, definitions: options.workflows, config: options.config, logger: options.logger });
  }

  /** Group-commit counters (undefined before the first commit). */
  commitStats(): { batches: number; commits: number; largestBatch: number } | undefined {
    if (this.queueValue === undefined) return undefined;
    const { batches, items, largestBatch } = this.queueValue.stats;
    return { batches, commits: items, largestBatch };
  }

  private context(): ShardContext {
    if (this.ctx === undefined) throw new Error('durable runtime used before its services started');
    return this.ctx;
  }
}
