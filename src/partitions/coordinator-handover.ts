/**
 * A new master's handover sync: before it acts, it asks every live member for its table
 * (taking any newer one) and waits for each member's acknowledgement, or for the
 * handover timeout. Members whose views do not name it master yet ignore the ask, so it
 * asks again, close together at first and backing off to the resend interval.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { CoordinatorContext } from './coordinator-context.js';

/** Floor on the handover fetch re-send interval, so a zero fetch interval cannot spin. */
export const HANDOVER_RESEND_INTERVAL_MS_MIN = 50;

/** One mastership's handover sync; `done` once every member answered or the deadline passed. */
export class HandoverSync {
  private readonly awaiting = new Set<NodeId>();
  private readonly deadlineAt: Millis;
  /**
   * When the fetch is next re-sent to members that have not answered. Re-asking ends the
   * sync one interval after a member's view catches up instead of waiting out the whole
   * handover timeout.
   */
  private resendAt: Millis;
  private resendStepMs = HANDOVER_RESEND_INTERVAL_MS_MIN;
  private doneValue = false;

  constructor(
    private readonly ctx: CoordinatorContext,
    now: Millis,
  ) {
    this.deadlineAt = now + ctx.config.handoverTimeoutMs;
    this.resendAt = now + this.nextResendStep();
    for (const m of ctx.view().members()) if (m.status !== 'dead' && m.nodeId !== ctx.self) this.awaiting.add(m.nodeId);
    this.ask();
    this.doneValue = this.awaiting.size === 0;
  }

  /** Every member answered, or the deadline passed: the master may act. */
  get done(): boolean {
    return this.doneValue;
  }

  /** The view changed: members no longer live are not waited for. True when that ends the sync. */
  onViewChanged(isLive: (id: NodeId) => boolean): boolean {
    for (const id of [...this.awaiting]) if (!isLive(id)) this.awaiting.delete(id);
    return this.settle();
  }

  /** `from` acknowledged (its `FetchPartitionTable`). True when that ends the sync. */
  onAnswer(from: NodeId): boolean {
    return this.awaiting.delete(from) && this.settle();
  }

  /** Re-asks when due. True when the deadline ends the sync. */
  tick(now: Millis): boolean {
    if (this.doneValue) return false;
    if (now >= this.deadlineAt) return this.finish();
    if (now >= this.resendAt) {
      this.resendAt = now + this.nextResendStep();
      this.ask();
    }
    return false;
  }

  nextDeadline(): Millis | undefined {
    return this.doneValue ? undefined : Math.min(this.deadlineAt, this.resendAt);
  }

  private settle(): boolean {
    return !this.doneValue && this.awaiting.size === 0 && this.finish();
  }

  private finish(): true {
    this.doneValue = true;
    this.awaiting.clear();
    return true;
  }

  /**
   * The next pause before asking again. The first ask often reaches members whose views do
   * not name this node master yet; they learn within milliseconds, so the asks start close
   * together and back off to the resend interval.
   */
  private nextResendStep(): number {
    const step = this.resendStepMs;
    this.resendStepMs = Math.min(step * 2, Math.max(HANDOVER_RESEND_INTERVAL_MS_MIN, this.ctx.config.tableFetchMinIntervalMs));
    return step;
  }

  private ask(): void {
    for (const id of this.awaiting) this.ctx.send(id, { type: 'FetchPartitionTable', from: this.ctx.self, knownVersion: this.ctx.table.version });
  }
}
