/**
 * The records of the members view a master publishes, built from its SWIM state: each
 * member of the current view that is still in (with its status: active, suspect,
 * leaving; a member that lapsed while this side lacked a majority stays suspect until it
 * heartbeats here), then the admitted joiners that became alive. Kept apart from the mastership so
 * the rule for who is in the view reads in one place.
 */
import type { Millis } from '../core/clock.js';
import type { MemberRecord, NodeId } from '../core/model.js';
import type { Admissions } from './admission.js';
import { compareAge, statusFor, type ViewBook } from './master-view.js';
import type { SwimContext as Runtime } from './swim-context.js';

/** Who is in the next view, and with which record. */
export class ViewRecords {
  /** Members that announced a graceful leave: published as `leaving` until they are out. */
  readonly leavingIds = new Set<NodeId>();

  constructor(
    private readonly rt: Runtime,
    private readonly book: ViewBook,
    private readonly admitted: Admissions,
    /** Members that stopped answering while this side lacked a majority and have not heartbeated here since. */
    private readonly lapsed: (nodeId: NodeId) => boolean,
  ) {}

  /** The records of the next view, oldest first; admitted joiners alive by `now` come in. */
  build(now: Millis): MemberRecord[] {
    const out: MemberRecord[] = [];
    const seen = new Set<NodeId>();
    for (const r of this.book.view?.members ?? []) {
      const record = this.recordFor(r.nodeId, r.joinVersion, r.clientAddress);
      if (record === undefined) {
        this.leavingIds.delete(r.nodeId);
        continue;
      }
      out.push(record);
      seen.add(r.nodeId);
    }
    const ready = (id: NodeId): boolean => this.rt.members.get(id)?.state === 'alive';
    for (const admission of this.admitted.collect(now, (id) => seen.has(id), ready)) {
      const record = this.recordFor(admission.info.nodeId, admission.joinVersion, admission.info.clientAddress);
      if (record !== undefined) out.push(record);
    }
    return out.sort(compareAge);
  }

  /** The view record of a member from its SWIM state, or undefined when it is out. */
  recordFor(nodeId: NodeId, joinVersion: number, clientAddress: string | undefined): MemberRecord | undefined {
    const entry = this.rt.members.get(nodeId);
    if (entry === undefined) return undefined;
    let status = statusFor(entry.state, this.leavingIds.has(nodeId));
    if (status === undefined) return undefined;
    // Alive again, but maybe for another master: members count it once it heartbeats here.
    if (status === 'active' && this.lapsed(nodeId)) status = 'suspect';
    const record: MemberRecord = { nodeId, address: entry.address, joinVersion, status, incarnation: entry.incarnation, tags: entry.tags };
    return clientAddress === undefined ? record : { ...record, clientAddress };
  }
}
