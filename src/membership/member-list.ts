/**
 * The members this node knows, with their SWIM state, incarnation, address and tags,
 * counts per state kept current (so sizes are O(1)), tombstones for the dead and the left
 * (reaped after a while), and O(1) random sampling for gossip and indirect probes. It
 * stores; the protocol rules that decide transitions live in `transitions.ts`.
 */
import type { Millis } from '../core/clock.js';
import { assert } from '../core/errors.js';
import type { Address, NodeId, SwimState, Tags } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { Member } from './events.js';

/** The mutable record of one member. */
export interface MemberEntry {
  readonly nodeId: NodeId;
  address: Address;
  state: SwimState;
  incarnation: number;
  tags: Tags;
  stateChangedAt: Millis;
}

/** A read-only copy of `entry`. */
export function snapshotMember(entry: MemberEntry): Member {
  return {
    nodeId: entry.nodeId,
    address: entry.address,
    state: entry.state,
    incarnation: entry.incarnation,
    tags: entry.tags,
    stateChangedAt: entry.stateChangedAt,
  };
}

interface Tombstone {
  readonly nodeId: NodeId;
  readonly expiresAt: Millis;
}

/** All known members, self included. */
export class MemberList {
  private readonly entries = new Map<NodeId, MemberEntry>();
  /** Dense array of ids for random sampling; `slot` maps id to index. */
  private readonly ids: NodeId[] = [];
  private readonly slot = new Map<NodeId, number>();
  private readonly counts: Record<SwimState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  /**
   * Deaths in time order. At most one entry per transition into dead or left within
   * `tombstoneMs`, so it is bounded by the churn of one tombstone period.
   */
  private readonly tombstones: Tombstone[] = [];
  private tombstoneHead = 0;
  private changes = 0;

  constructor(
    readonly selfId: NodeId,
    private readonly tombstoneMs: number,
  ) {}

  /**
   * Bumped by every change to the list or to an entry (see `touch`), so derived data (the
   * push-pull state list) can be cached until the next change.
   */
  get version(): number {
    return this.changes;
  }

  /** Records a change made to an entry in place (incarnation, address, tags). */
  touch(): void {
    this.changes++;
  }

  /** Number of known members, tombstones included. */
  get size(): number {
    return this.entries.size;
  }

  /** Members alive or suspect, self included: the "N" of SWIM's formulas. */
  get liveCount(): number {
    return this.counts.alive + this.counts.suspect;
  }

  /** Members in `state`. */
  count(state: SwimState): number {
    return this.counts[state];
  }

  get(id: NodeId): MemberEntry | undefined {
    return this.entries.get(id);
  }

  /** This node's own entry. */
  self(): MemberEntry {
    return this.entries.get(this.selfId)!;
  }

  /** Every entry, in insertion order. */
  all(): IterableIterator<MemberEntry> {
    return this.entries.values();
  }

  /** Snapshots of the alive members (self included) whose tags satisfy `match`. */
  aliveWhere(match: (tags: Tags) => boolean): Member[] {
    const out: Member[] = [];
    for (const entry of this.entries.values()) if (entry.state === 'alive' && match(entry.tags)) out.push(snapshotMember(entry));
    return out;
  }

  /** Adds a member not known before. */
  add(entry: MemberEntry): void {
    assert(!this.entries.has(entry.nodeId), `member ${entry.nodeId} added twice`);
    this.changes++;
    this.entries.set(entry.nodeId, entry);
    this.slot.set(entry.nodeId, this.ids.length);
    this.ids.push(entry.nodeId);
    this.counts[entry.state]++;
    if (entry.state === 'dead' || entry.state === 'left') this.pushTombstone(entry.nodeId, entry.stateChangedAt);
  }

  /** Moves `entry` to `state` at `now`, keeping counts and tombstones current. */
  setState(entry: MemberEntry, state: SwimState, now: Millis): void {
    assert(!(entry.nodeId === this.selfId && state === 'dead'), 'self is never marked dead locally');
    this.changes++;
    this.counts[entry.state]--;
    this.counts[state]++;
    entry.state = state;
    entry.stateChangedAt = now;
    if (state === 'dead' || state === 'left') this.pushTombstone(entry.nodeId, now);
  }

  /** When the oldest tombstone expires (possibly a stale one: reaping it is a no-op). */
  nextReapAt(): Millis | undefined {
    return this.tombstones[this.tombstoneHead]?.expiresAt;
  }

  /** Forgets dead and left members whose tombstone expired; returns their ids. */
  reap(now: Millis): NodeId[] {
    const reaped: NodeId[] = [];
    while (this.tombstoneHead < this.tombstones.length) {
      const head = this.tombstones[this.tombstoneHead]!;
      if (head.expiresAt > now) break;
      this.tombstoneHead++;
      const entry = this.entries.get(head.nodeId);
      if (entry === undefined || entry.nodeId === this.selfId) continue;
      if (entry.state !== 'dead' && entry.state !== 'left') continue;
      if (entry.stateChangedAt + this.tombstoneMs > now) continue;
      this.remove(entry);
      reaped.push(entry.nodeId);
    }
    if (this.tombstoneHead > 64 && this.tombstoneHead * 2 > this.tombstones.length) {
      this.tombstones.splice(0, this.tombstoneHead);
      this.tombstoneHead = 0;
    }
    return reaped;
  }

  /**
   * Up to `k` distinct random members (never self) accepted by `filter`, by rejection
   * sampling with a bounded number of draws, then a scan when the draws fall short.
   */
  randomMembers(k: number, random: Random, filter: (entry: MemberEntry) => boolean): MemberEntry[] {
    const picked: MemberEntry[] = [];
    if (k <= 0 || this.ids.length <= 1) return picked;
    const chosen = new Set<NodeId>();
    const drawsMax = 3 * k + 8;
    for (let draw = 0; draw < drawsMax && picked.length < k; draw++) {
      const entry = this.entries.get(this.ids[random.int(this.ids.length)]!)!;
      if (entry.nodeId === this.selfId || chosen.has(entry.nodeId) || !filter(entry)) continue;
      chosen.add(entry.nodeId);
      picked.push(entry);
    }
    if (picked.length < k) {
      // Few eligible members: a scan from a random offset finds them all.
      const offset = random.int(this.ids.length);
      for (let i = 0; i < this.ids.length && picked.length < k; i++) {
        const entry = this.entries.get(this.ids[(offset + i) % this.ids.length]!)!;
        if (entry.nodeId === this.selfId || chosen.has(entry.nodeId) || !filter(entry)) continue;
        chosen.add(entry.nodeId);
        picked.push(entry);
      }
    }
    return picked;
  }

  private remove(entry: MemberEntry): void {
    this.changes++;
    this.entries.delete(entry.nodeId);
    this.counts[entry.state]--;
    const index = this.slot.get(entry.nodeId)!;
    const last = this.ids.pop()!;
    if (last !== entry.nodeId) {
      this.ids[index] = last;
      this.slot.set(last, index);
    }
    this.slot.delete(entry.nodeId);
  }

  private pushTombstone(nodeId: NodeId, at: Millis): void {
    this.tombstones.push({ nodeId, expiresAt: at + this.tombstoneMs });
  }
}
