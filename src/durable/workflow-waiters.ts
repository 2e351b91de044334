/**
 * Callers waiting on this node for workflow results, by execution id. A waiter is the only
 * memory a sleeping workflow costs, and only while someone waits: each has a deadline
 * (then FLO_TIMEOUT; the workflow goes on) and their number is bounded.
 */
import { FlotillaError } from '../core/errors.js';
import type { TimerHandle, Timers } from '../core/timers.js';

interface Waiter {
  readonly resolve: (output: Uint8Array) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: TimerHandle;
}

/** Waiters by execution id. */
export class WorkflowWaiters {
  private readonly byId = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(
    private readonly timers: () => Timers,
    private readonly waitersMax: number,
  ) {}

  /** Wait for `id`'s outcome bytes until `waitMs` from now. */
  wait(id: string, waitMs: number): Promise<Uint8Array> {
    if (this.count >= this.waitersMax) return Promise.reject(new FlotillaError('FLO_QUEUE_FULL', `${this.waitersMax} callers already wait for workflow results here`));
    return new Promise<Uint8Array>((resolve, reject) => {
      const timers = this.timers();
      let set = this.byId.get(id);
      if (set === undefined) {
        set = new Set();
        this.byId.set(id, set);
      }
      const waiters = set;
      const waiter: Waiter = {
        resolve,
        reject,
        timer: timers.at(timers.now() + waitMs, () => {
          if (!waiters.delete(waiter)) return;
          this.count--;
          if (waiters.size === 0) this.byId.delete(id);
          reject(new FlotillaError('FLO_TIMEOUT', `workflow ${id} did not finish within ${waitMs} ms; it goes on`, { workflowId: id }));
        }),
      };
      waiters.add(waiter);
      this.count++;
    });
  }

  /** The workflow finished (completed or failed): answer everyone waiting for it. */
  resolve(id: string, output: Uint8Array): void {
    for (const w of this.take(id)) w.resolve(output);
  }

  /** This node can no longer answer for `id` (moved, stopped): the callers retry elsewhere. */
  reject(id: string, error: unknown): void {
    for (const w of this.take(id)) w.reject(error);
  }

  /** Ids someone waits for. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  private take(id: string): Waiter[] {
    const set = this.byId.get(id);
    if (set === undefined) return [];
    this.byId.delete(id);
    this.count -= set.size;
    for (const w of set) w.timer.cancel();
    return [...set];
  }
}
