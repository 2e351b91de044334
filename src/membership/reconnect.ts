/**
 * Reconnecting to failed members, as Serf does: after a network split heals, neither side
 * probes or gossips to the members it declared dead, so every `reconnectIntervalMs` this
 * node push-pulls with one random failed member. The exchange tells that member it is
 * considered dead (so it refutes) and brings both member lists together. Failed members
 * are remembered past their tombstone, bounded in time and count.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeId } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { MemberEntry } from './member-list.js';

/** A failed member still worth trying. */
export interface FailedMember {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly incarnation: number;
  readonly failedAt: Millis;
}

/** Bounded memory of failed (not left) members. */
export class FailedMembers {
  private readonly byId = new Map<NodeId, FailedMember>();

  constructor(
    private readonly capacityMax: number,
    private readonly rememberMs: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Remembers a member that was declared dead (evicting the oldest when full). */
  remember(entry: MemberEntry, now: Millis): void {
    this.byId.delete(entry.nodeId);
    if (this.byId.size >= this.capacityMax) this.byId.delete(this.byId.keys().next().value as NodeId);
    this.byId.set(entry.nodeId, { nodeId: entry.nodeId, address: entry.address, incarnation: entry.incarnation, failedAt: now });
  }

  /** Forgets a member (it is alive again, or left). */
  forget(nodeId: NodeId): void {
    this.byId.delete(nodeId);
  }

  /** Addresses of the failed members remembered, most recent failure last. */
  addresses(): Address[] {
    return [...this.byId.values()].map((f) => f.address);
  }

  /** A random failed member to try, after dropping those remembered too long. */
  pick(now: Millis, random: Random): FailedMember | undefined {
    for (const [id, failed] of this.byId) {
      // Insertion order is failure order, so the expired ones come first.
      if (now - failed.failedAt <= this.rememberMs) break;
      this.byId.delete(id);
    }
    if (this.byId.size === 0) return undefined;
    let index = random.int(this.byId.size);
    for (const failed of this.byId.values()) if (index-- === 0) return failed;
    return undefined;
  }
}
