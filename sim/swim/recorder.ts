/**
 * Records the membership events scenarios judge by (suspicions, deaths, recoveries,
 * quorum changes, tag updates, joins) with who saw what and when, and answers the
 * questions scenarios ask of them.
 */
import type { Millis } from '../../src/core/clock.js';
import type { NodeId, Tags } from '../../src/core/model.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import type { SwimSimulation } from './swim-simulation.js';

/** Records kept; a scenario that produces more is misbehaving (or too big for a recorder). */
export const RECORDS_MAX = 2_000_000;

/** Something node `by` concluded about node `node` at time `at`. */
export interface Sighting {
  readonly at: Millis;
  readonly by: NodeId;
  readonly node: NodeId;
  readonly incarnation: number;
}

/** A quorum verdict change at `by`. */
export interface QuorumChange {
  readonly at: Millis;
  readonly by: NodeId;
  readonly partitioned: boolean;
}

/** A tag update `by` learned about `node`. */
export interface TagSighting extends Sighting {
  readonly tags: Tags;
}

/** Membership events of a SWIM simulation, by kind. */
export class MembershipRecorder {
  readonly suspected: Sighting[] = [];
  readonly failed: Sighting[] = [];
  readonly recovered: Sighting[] = [];
  readonly joined: Sighting[] = [];
  readonly tags: TagSighting[] = [];
  readonly quorum: QuorumChange[] = [];
  readonly joinCompleted: { at: Millis; by: NodeId; formed: boolean }[] = [];
  private count = 0;

  constructor(sim: SwimSimulation) {
    sim.observe((by, event, now) => this.record(by, event, now));
  }

  /** Suspicions of `node` since `since`. */
  suspicionsOf(node: NodeId, since: Millis = 0): Sighting[] {
    return this.suspected.filter((s) => s.node === node && s.at >= since);
  }

  /** Deaths of `node` declared since `since`. */
  deathsOf(node: NodeId, since: Millis = 0): Sighting[] {
    return this.failed.filter((s) => s.node === node && s.at >= since);
  }

  /** Deaths since `since` of any node not in `allowed`. */
  deathsOutside(allowed: ReadonlySet<NodeId>, since: Millis = 0): Sighting[] {
    return this.failed.filter((s) => !allowed.has(s.node) && s.at >= since);
  }

  /** Quorum changes to `partitioned` at `by` since `since`. */
  partitionedAt(by: NodeId, since: Millis = 0): QuorumChange[] {
    return this.quorum.filter((q) => q.by === by && q.partitioned && q.at >= since);
  }

  private record(by: NodeId, event: MembershipEvent, at: Millis): void {
    if (++this.count > RECORDS_MAX) throw new Error(`membership recorder: over ${RECORDS_MAX} records`);
    switch (event.type) {
      case 'NodeSuspected':
        this.suspected.push(sighting(at, by, event.member));
        return;
      case 'NodeFailed':
        this.failed.push(sighting(at, by, event.member));
        return;
      case 'NodeRecovered':
        this.recovered.push(sighting(at, by, event.member));
        return;
      case 'NodeJoined':
        this.joined.push(sighting(at, by, event.member));
        return;
      case 'NodeTagsUpdated':
        this.tags.push({ ...sighting(at, by, event.member), tags: event.member.tags });
        return;
      case 'PartitionDetected':
        this.quorum.push({ at, by, partitioned: event.partitioned });
        return;
      case 'JoinCompleted':
        this.joinCompleted.push({ at, by, formed: event.formed });
        return;
      default:
        this.count--;
    }
  }
}

function sighting(at: Millis, by: NodeId, member: { nodeId: NodeId; incarnation: number }): Sighting {
  return { at, by, node: member.nodeId, incarnation: member.incarnation };
}
