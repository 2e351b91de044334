/**
 * The SWIM state rules (memberlist's state.go): how an Alive, Suspect or Dead claim about
 * a member changes what this node believes, by incarnation first and state precedence
 * second (alive < suspect < dead at one incarnation); Lifeguard suspicion timers; and
 * refutation when the claim is about this node. Every accepted change is re-gossiped and
 * reported as an event.
 */
import type { Millis } from '../core/clock.js';
import { assert } from '../core/errors.js';
import { compareIncarnation, nextIncarnation } from '../core/incarnation.js';
import type { Address, NodeId, SwimState, Tags } from '../core/model.js';
import type { Alive, Dead, GossipUpdate, Suspect } from '../protocol/messages.js';
import { GossipPriority } from './gossip-queue.js';
import { snapshotMember, type MemberEntry } from './member-list.js';
import type { SwimContext } from './swim-context.js';
import { expectedConfirmations, Suspicion, suspicionMinTimeoutMs } from './suspicion.js';
import { tagsEqual } from './tags.js';

/** Told of every accepted change to a member (state, incarnation, address or tags). */
export type MemberChangeListener = (entry: MemberEntry, previous: SwimState | undefined) => void;

/** Applies membership claims to the member list. */
export class Transitions {
  private readonly suspicions = new Map<NodeId, Suspicion>();
  /** True once this node announced its own leave: its own Dead(left) is then expected. */
  leaving = false;
  /** True while this node's own health check fails: it reports itself suspect and does not refute. */
  unhealthy = false;

  /**
   * True when the sender at `from` is outside this node's members view while `accused` is
   * in it: another cluster's opinion of this cluster's member, which is not taken. After a
   * split heals each side still holds the other side's members dead, and a stale Dead of
   * one's own members would tear one's own cluster apart before the masters merge the two.
   */
  foreignAccusation: (from: Address, accused: NodeId) => boolean = () => false;

  constructor(
    private readonly rt: SwimContext,
    private readonly onChange: MemberChangeListener,
  ) {}

  /**
   * Applies any gossip update. `from` is the address of the member that sent it, to be
   * answered directly when it repeats an accusation of this node that was already refuted.
   */
  apply(update: GossipUpdate, now: Millis, from?: Address): void {
    if (update.type === 'Alive') this.applyAlive(update, now);
    else if (update.type === 'Suspect') this.applySuspect(update, now, from);
    else this.applyDead(update, now, from);
  }

  /**
   * An Alive claim: adds a new member, or revives/updates a known one at a higher
   * incarnation. With `regossip` false the accepted claim is not queued for gossip: the
   * caller learned it from something every member receives anyway (the master's view).
   * With `reviveDead`, a member held suspect, dead or left at the claim's own incarnation
   * comes back too: a node that merged into another cluster takes that cluster's view as
   * proof of life for members it suspected or declared dead during the split (a suspicion
   * kept would run out there and declare the winner's own members dead).
   */
  applyAlive(a: Alive, now: Millis, regossip = true, reviveDead = false): void {
    const { members } = this.rt;
    if (a.node === this.rt.selfId) return this.aliveAboutSelf(a);
    const entry = members.get(a.node);
    if (entry === undefined) {
      if (members.size >= this.rt.config.membersMax) {
        this.rt.counters.membersRefused++;
        return;
      }
      const added: MemberEntry = { nodeId: a.node, address: a.address, state: 'alive', incarnation: a.incarnation, tags: a.tags, stateChangedAt: now };
      members.add(added);
      this.rt.probeOrder.add(a.node);
      if (regossip) this.rt.gossip.enqueue(a, GossipPriority.Medium);
      this.rt.emit({ type: 'NodeJoined', at: now, member: snapshotMember(added) });
      this.onChange(added, undefined);
      return;
    }
    const order = compareIncarnation(a.incarnation, entry.incarnation);
    if (order < 0 || (order === 0 && !(reviveDead && entry.state !== 'alive'))) return;
    // A revived member's Suspect or Dead this node queued is superseded, and the revival is
    // not re-gossiped, so nothing would replace it: a node merging into another cluster sent
    // its own Dead of the winner's master on an Ack once admitted (from inside the view, so
    // it was taken), and the winner declared its own master dead.
    if (reviveDead && this.rt.gossip.get(a.node)?.update.type !== 'Alive') this.rt.gossip.remove(a.node);
    const previous = entry.state;
    const previousTags = entry.tags;
    this.setIncarnation(entry, a.incarnation);
    entry.address = a.address;
    entry.tags = a.tags;
    this.suspicions.delete(a.node);
    if (previous !== 'alive') {
      members.setState(entry, 'alive', now);
      this.rt.probeOrder.add(a.node);
      if (previous === 'suspect') this.rt.counters.falseSuspicions++;
      const member = snapshotMember(entry);
      if (previous === 'left') this.rt.emit({ type: 'NodeJoined', at: now, member });
      else this.rt.emit({ type: 'NodeRecovered', at: now, member, previousState: previous });
    }
    if (!tagsEqual(previousTags, a.tags)) {
      this.rt.emit({ type: 'NodeTagsUpdated', at: now, member: snapshotMember(entry), previousTags });
    }
    if (regossip) this.rt.gossip.enqueue(a, GossipPriority.Medium);
    this.onChange(entry, previous);
  }

  /** A Suspect claim: starts (or confirms) a Lifeguard suspicion; about self, refutes. */
  applySuspect(s: Suspect, now: Millis, from?: Address): void {
    if (s.node === this.rt.selfId) return this.accusedSelf(s.incarnation, now, from);
    if (from !== undefined && this.foreignAccusation(from, s.node)) return this.ignoreForeignAccusation();
    const entry = this.rt.members.get(s.node);
    if (entry === undefined || compareIncarnation(s.incarnation, entry.incarnation) < 0) return;
    if (entry.state === 'suspect') {
      const suspicion = this.suspicions.get(s.node);
      if (compareIncarnation(s.incarnation, entry.incarnation) > 0) this.setIncarnation(entry, s.incarnation);
      // A member that reported itself suspect (failing health check) runs no timer until
      // somebody else accuses it: then it must answer like any suspect, or die.
      if (suspicion === undefined && s.from !== s.node) this.startSuspicion(s, now);
      else if (suspicion !== undefined && suspicion.confirm(s.from)) this.rt.gossip.enqueue(s, GossipPriority.High);
      return;
    }
    if (entry.state !== 'alive') return;
    this.setIncarnation(entry, s.incarnation);
    this.rt.members.setState(entry, 'suspect', now);
    if (s.from !== s.node) this.startSuspicion(s, now);
    this.rt.counters.suspicions++;
    this.rt.gossip.enqueue(s, GossipPriority.High);
    this.rt.emit({ type: 'NodeSuspected', at: now, member: snapshotMember(entry), accuser: s.from });
    this.onChange(entry, 'alive');
  }

  private startSuspicion(s: Suspect, now: Millis): void {
    const n = this.rt.members.liveCount;
    const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs, suspicionConfirmationsExpected } = this.rt.config;
    const minMs = suspicionMinTimeoutMs(suspicionMult, n, probeIntervalMs);
    const k = expectedConfirmations(suspicionConfirmationsExpected, n);
    this.suspicions.set(s.node, new Suspicion(now, minMs, minMs * suspicionMaxTimeoutMult, k, s.from));
  }

  /** A Dead claim: marks the member dead (or left); about self while running, refutes. */
  applyDead(d: Dead, now: Millis, from?: Address): void {
    if (d.node === this.rt.selfId) return this.accusedSelf(d.incarnation, now, from);
    if (from !== undefined && !d.left && this.foreignAccusation(from, d.node)) return this.ignoreForeignAccusation();
    const entry = this.rt.members.get(d.node);
    if (entry === undefined || compareIncarnation(d.incarnation, entry.incarnation) < 0) return;
    if (entry.state === 'dead' || entry.state === 'left') return;
    const previous = entry.state;
    this.suspicions.delete(d.node);
    this.setIncarnation(entry, d.incarnation);
    this.rt.members.setState(entry, d.left ? 'left' : 'dead', now);
    this.rt.gossip.enqueue(d, GossipPriority.Critical);
    const member = snapshotMember(entry);
    this.rt.emit(d.left ? { type: 'NodeLeft', at: now, member } : { type: 'NodeFailed', at: now, member });
    this.onChange(entry, previous);
  }

  private ignoreForeignAccusation(): void {
    this.rt.counters.ignored++;
  }

  /** Declares dead every suspect whose suspicion timed out by `now`. */
  expireSuspicions(now: Millis): void {
    for (const [nodeId, suspicion] of this.suspicions) {
      if (suspicion.deadline > now) continue;
      const entry = this.rt.members.get(nodeId);
      this.suspicions.delete(nodeId);
      if (entry === undefined || entry.state !== 'suspect') continue;
      this.rt.counters.deathsDeclared++;
      this.applyDead({ type: 'Dead', node: nodeId, incarnation: entry.incarnation, from: this.rt.selfId, left: false }, now);
    }
  }

  /** Earliest suspicion deadline, if any suspicion runs. */
  nextSuspicionDeadline(): Millis | undefined {
    let best: Millis | undefined;
    for (const suspicion of this.suspicions.values()) {
      const deadline = suspicion.deadline;
      if (best === undefined || deadline < best) best = deadline;
    }
    return best;
  }

  /** Ids of up to `max` members currently suspected. */
  suspectIds(max: number): NodeId[] {
    const out: NodeId[] = [];
    for (const nodeId of this.suspicions.keys()) {
      if (out.length >= max) break;
      out.push(nodeId);
    }
    return out;
  }

  /** The ongoing suspicion of `nodeId`, for inspection. */
  suspicionOf(nodeId: NodeId): Suspicion | undefined {
    return this.suspicions.get(nodeId);
  }

  /**
   * Raises this node's incarnation past `accused` (and past its own) and broadcasts Alive
   * at Critical priority; counts against local health, since being suspected is a hint
   * that this node is slow.
   */
  refute(accused: number): void {
    const self = this.rt.members.self();
    const base = compareIncarnation(accused, self.incarnation) > 0 ? accused : self.incarnation;
    this.setIncarnation(self, nextIncarnation(base));
    this.rt.counters.refutations++;
    this.rt.awareness.applyDelta(1);
    this.announceSelf(GossipPriority.Critical);
    this.onChange(self, self.state);
  }

  /**
   * Announces this node again under a new incarnation, so members that hold it dead or
   * suspect accept it alive (used when the master says it is outside the view).
   */
  reannounce(): void {
    const self = this.rt.members.self();
    this.setIncarnation(self, nextIncarnation(self.incarnation));
    this.announceSelf(GossipPriority.Critical);
    this.onChange(self, self.state);
  }

  /**
   * Gives this node new (validated) tags under a new incarnation and gossips its Alive at
   * High priority; false when the tags are unchanged.
   */
  retagSelf(tags: Tags, now: Millis): boolean {
    const self = this.rt.members.self();
    const previousTags = self.tags;
    if (tagsEqual(previousTags, tags)) return false;
    this.setIncarnation(self, nextIncarnation(self.incarnation));
    self.tags = tags;
    this.announceSelf(GossipPriority.High);
    this.rt.emit({ type: 'NodeTagsUpdated', at: now, member: snapshotMember(self), previousTags });
    return true;
  }

  /** Queues an Alive about this node at its current incarnation. */
  announceSelf(priority: GossipPriority): void {
    this.rt.gossip.enqueue(this.selfAlive(), priority);
  }

  /**
   * This node is accused (Suspect or Dead) at `incarnation`. At or above its own, it
   * refutes. Below, the accusation is one it already refuted and the sender missed that:
   * the sender is owed this node's current Alive directly.
   */
  private accusedSelf(incarnation: number, now: Millis, from: Address | undefined): void {
    if (this.leaving || this.unhealthy) return;
    if (compareIncarnation(incarnation, this.rt.members.self().incarnation) >= 0) this.refute(incarnation);
    else if (from !== undefined) this.rt.rebuttals.note(from, now);
  }

  /** Sends this node's current Alive to every member owed one (see `accusedSelf`). */
  sendRebuttals(): void {
    if (this.rt.rebuttals.pendingCount === 0) return;
    const alive = this.selfAlive();
    const bytes = this.rt.sizeOfMessage(alive);
    for (const to of this.rt.rebuttals.drain()) {
      this.rt.counters.rebuttals++;
      this.rt.send(to, alive, 'udp', bytes);
    }
  }

  /** This node's current Alive. */
  selfAlive(): Alive {
    const self = this.rt.members.self();
    return { type: 'Alive', node: self.nodeId, incarnation: self.incarnation, address: self.address, tags: self.tags };
  }

  private aliveAboutSelf(a: Alive): void {
    const self = this.rt.members.self();
    const order = compareIncarnation(a.incarnation, self.incarnation);
    if (order < 0 || this.leaving) return;
    if (order === 0 && a.address === self.address && tagsEqual(a.tags, self.tags)) return;
    // Somebody speaks for this node with other data (a previous life, or a forged claim).
    this.refute(a.incarnation);
  }

  private setIncarnation(entry: MemberEntry, incarnation: number): void {
    assert(compareIncarnation(incarnation, entry.incarnation) >= 0, `incarnation of ${entry.nodeId} must not go down`);
    entry.incarnation = incarnation;
    // Address and tags only change along with the incarnation, so this covers them too.
    this.rt.members.touch();
  }
}
