/**
 * Graceful leave: the node announces Dead(left) about itself at Critical priority and is
 * done once the announcement has gone to min(N - 1, leaveFanout) distinct members, or
 * when `leaveTimeoutMs` passed, whichever comes first. Others then record it as left
 * (NodeLeft), not failed.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeId } from '../core/model.js';
import type { QueuedUpdate } from './gossip-queue.js';

/** Tracks where one leave announcement went. */
export class LeaveTracker {
  /** Distinct addresses the announcement went to (bounded by the fan-out target). */
  private readonly reached = new Set<Address>();

  constructor(
    private readonly selfId: NodeId,
    /** Distinct members that must receive the announcement. */
    readonly target: number,
    /** When the leave completes regardless. */
    readonly deadline: Millis,
  ) {}

  /** Notes a message to `to` carrying `picked` updates. */
  observe(to: Address, picked: readonly QueuedUpdate[]): void {
    if (this.reached.size >= this.target) return;
    if (picked.some((entry) => entry.key === this.selfId && entry.update.type === 'Dead')) this.reached.add(to);
  }

  /** True once the leave may complete. */
  done(now: Millis): boolean {
    return this.reached.size >= this.target || now >= this.deadline;
  }
}
