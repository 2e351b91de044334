/**
 * The master's record of complaints: which members said they cannot reach which node,
 * and when. Complaints expire after a window; enough distinct complainers make the master
 * suspect a node it still sees alive, fewer make it probe the node out of turn. Bounded
 * in the number of nodes tracked (and, per node, by the number of members).
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';

/** What the master should do after a complaint. */
export type ComplaintVerdict = 'suspect' | 'probe';

/** Complaints per accused node. */
export class Complaints {
  private readonly byAccused = new Map<NodeId, Map<NodeId, Millis>>();
  private droppedCount = 0;

  constructor(
    private readonly trackedMax: number,
    private readonly windowMs: number,
  ) {}

  /** Accused nodes forgotten to stay within `trackedMax`. */
  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * Records that `from` complained about `accused` at `now`: 'suspect' once `threshold`
   * distinct members complained within the window (the record is then cleared), else 'probe'.
   */
  add(from: NodeId, accused: NodeId, now: Millis, threshold: number): ComplaintVerdict {
    let byComplainer = this.byAccused.get(accused);
    if (byComplainer === undefined) {
      if (this.byAccused.size >= this.trackedMax) {
        this.byAccused.delete(this.byAccused.keys().next().value as NodeId);
        this.droppedCount++;
      }
      byComplainer = new Map();
      this.byAccused.set(accused, byComplainer);
    }
    byComplainer.set(from, now);
    for (const [complainer, at] of byComplainer) if (now - at > this.windowMs) byComplainer.delete(complainer);
    if (byComplainer.size < threshold) return 'probe';
    this.byAccused.delete(accused);
    return 'suspect';
  }
}
