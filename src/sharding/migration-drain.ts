/**
 * Graceful leave for the sharding layer: before the node leaves the membership, it
 * asks the master (with a `LeaveRequest`, which the master's membership machine turns
 * into a `leaving` status in the members view) to move its partitions out; the master's
 * coordinator no longer places partitions on a leaving member, so it migrates every
 * replica this node holds to the others. The drain is over when the table names this
 * node nowhere and nothing streams from it any more.
 */
import type { Millis } from '../core/clock.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import { MembersView } from '../partitions/members-view.js';
import type { ShardingEnv } from './service.js';

/** How often the leave request is repeated while the view does not show this node leaving (a new master forgets it). */
export const DRAIN_ASK_INTERVAL_MS = 500;

/** What a drain needs. */
export interface DrainDeps {
  readonly env: ShardingEnv;
  table(): PartitionTableReader;
  /** True while migrations stream data out of this node. */
  busy(): boolean;
}

/** The drain of one node. */
export class PartitionDrain {
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly deps: DrainDeps) {}

  /** Something changed (a table, a view, a migration): re-check. */
  poke(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Stop waiting (the service is stopping). */
  stop(): void {
    this.stopped = true;
    this.poke();
  }

  /** True when the table names this node nowhere and nothing streams out. */
  done(): boolean {
    const table = this.deps.table();
    if (table.version === 0) return !this.deps.busy();
    const held = table.partitionsForNode(this.deps.env.self);
    return held.owned.length === 0 && held.backups.length === 0 && !this.deps.busy();
  }

  /** Ask for the move and wait for it, until `deadline`. Resolves early when there is nowhere to move to. */
  async run(deadline: Millis): Promise<void> {
    const { env } = this.deps;
    let askedAt = Number.NEGATIVE_INFINITY;
    while (!this.stopped && env.timers.now() < deadline && !this.done()) {
      const view = new MembersView(env.membersView());
      const me = view.member(env.self);
      const others = view.members().filter((m) => m.nodeId !== env.self && (m.status === 'active' || m.status === 'suspect'));
      if (others.length === 0) return;
      const now = env.timers.now();
      if (me?.status !== 'leaving' && now - askedAt >= DRAIN_ASK_INTERVAL_MS) {
        const master = view.master();
        if (master !== undefined) {
          env.send({ to: master.address, channel: 'tcp', message: { type: 'LeaveRequest', nodeId: env.self, reason: 'draining partitions' } });
          askedAt = now;
        }
      }
      await this.changeOr(Math.min(DRAIN_ASK_INTERVAL_MS, Math.max(1, deadline - now)));
    }
  }

  private changeOr(timeoutMs: number): Promise<void> {
    const { timers } = this.deps.env;
    return new Promise((resolve) => {
      const timer = timers.at(timers.now() + timeoutMs, done);
      function done(): void {
        timer.cancel();
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
