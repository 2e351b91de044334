/**
 * Keeps nodes the master never admitted out of this node's member list. The membership
 * machine adds any node an Alive rumour (gossip, piggybacked update or push-pull entry)
 * names; a node refused at the door (a wrong secret) could otherwise start a rumour about
 * itself and be probed and listed like a member. The machine passes every inbound
 * message through here before it dispatches it and strips Alive claims about unknown
 * nodes unless they were admitted: seen in a members view, or just verified by this node
 * as master. Admitted nodes still reach everyone through the master's view.
 */
import type { Millis } from '../core/clock.js';
import type { MembersViewData, NodeId } from '../core/model.js';
import type { GossipUpdate, Message, PushPullEntry } from '../protocol/messages.js';
import type { JoinVerifier } from './admission.js';

/** Bounds of the guard's memory. */
export interface AdmissionGuardConfig {
  /**
   * How long a node verified by this node's `verifyJoin` may be introduced by rumour
   * before it shows up in a view, ms. The machine uses its `admissionTimeoutMs`.
   */
  readonly verifiedTtlMs: number;
  /** Verified nodes remembered at once; the oldest is forgotten first. The machine uses `admissionsPendingMax`. */
  readonly verifiedMax: number;
  /**
   * Node ids ever seen in a members view (the cluster's roster, so a member that was
   * forgotten after a split or a restart is still recognised). The machine uses `membersMax`.
   */
  readonly rosterMax: number;
}

/** Whether this node already knows `nodeId` (in its member list, tombstones included). */
export type KnownMember = (nodeId: NodeId) => boolean;

/** Filters rumours about nodes that were never admitted. */
export class AdmissionGuard {
  private readonly verified = new Map<NodeId, Millis>();
  private readonly roster = new Set<NodeId>();
  private rejectedCount = 0;

  constructor(private readonly config: AdmissionGuardConfig) {}

  /** Claims stripped so far. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** This node, as master, verified `nodeId`'s credentials. */
  noteVerified(nodeId: NodeId, now: Millis): void {
    this.verified.delete(nodeId);
    if (this.verified.size >= this.config.verifiedMax) this.verified.delete(this.verified.keys().next().value as NodeId);
    this.verified.set(nodeId, now + this.config.verifiedTtlMs);
  }

  /** A members view was adopted: everyone in it was admitted by a master. */
  noteView(view: MembersViewData): void {
    for (const record of view.members) {
      if (this.roster.has(record.nodeId)) continue;
      if (this.roster.size >= this.config.rosterMax) this.roster.delete(this.roster.values().next().value as NodeId);
      this.roster.add(record.nodeId);
    }
  }

  /** Whether a rumour may introduce `nodeId`. */
  admits(nodeId: NodeId, now: Millis, known: KnownMember): boolean {
    if (known(nodeId) || this.roster.has(nodeId)) return true;
    const until = this.verified.get(nodeId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.verified.delete(nodeId);
    return false;
  }

  /**
   * `message` without the Alive claims (and push-pull entries) about nodes not admitted;
   * the same object when nothing had to go.
   */
  filter(message: Message, now: Millis, known: KnownMember): Message {
    switch (message.type) {
      case 'Ping':
      case 'PingReq':
      case 'Ack':
      case 'Gossip': {
        const updates = this.keepUpdates(message.updates, now, known);
        return updates === message.updates ? message : { ...message, updates };
      }
      case 'Alive':
        // A lone Alive that must go becomes an empty Gossip: still counted by the machine.
        return this.admits(message.node, now, known) ? message : this.reject({ type: 'Gossip', from: message.node, updates: [] });
      case 'PushPull': {
        const states = this.keepStates(message.states, now, known);
        return states === message.states ? message : { ...message, states };
      }
      default:
        return message;
    }
  }

  private keepUpdates(updates: readonly GossipUpdate[], now: Millis, known: KnownMember): readonly GossipUpdate[] {
    if (updates.every((u) => u.type !== 'Alive' || this.admits(u.node, now, known))) return updates;
    return updates.filter((u) => u.type !== 'Alive' || this.admits(u.node, now, known) || this.countRejected());
  }

  private keepStates(states: readonly PushPullEntry[], now: Millis, known: KnownMember): readonly PushPullEntry[] {
    if (states.every((s) => this.admits(s.nodeId, now, known))) return states;
    return states.filter((s) => this.admits(s.nodeId, now, known) || this.countRejected());
  }

  private countRejected(): false {
    this.rejectedCount++;
    return false;
  }

  private reject<M>(replacement: M): M {
    this.rejectedCount++;
    return replacement;
  }
}

/** `verify`, telling `guard` of each joiner it accepts (at `now()`) so rumours may introduce it until a view does. */
export function notingVerified(guard: AdmissionGuard, verify: JoinVerifier, now: () => Millis): JoinVerifier {
  return (request) => {
    const verdict = verify(request);
    if (verdict.ok) guard.noteVerified(request.node.nodeId, now());
    return verdict;
  };
}
