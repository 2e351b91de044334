/**
 * A straightforward implementation of the gossip queue's ordering rules (one Map per
 * (priority, transmits) bucket), kept as the model the optimised `GossipQueue` is
 * checked against: the same operations must pick the same updates in the same order.
 */
import type { NodeId } from '../../src/core/model.js';
import { GOSSIP_SKIPS_MAX, GossipPriority, type QueuedUpdate, type TakeLimits } from '../../src/membership/gossip-queue.js';
import type { UpdateSizer } from '../../src/membership/size.js';
import type { GossipUpdate } from '../../src/protocol/messages.js';

const PRIORITIES_HIGH_TO_LOW: readonly GossipPriority[] = [3, 2, 1, 0];

/** The straightforward Map-per-bucket queue. */
export class ReferenceGossipQueue {
  /** buckets[priority][transmits]: entries in arrival order (oldest first). */
  private readonly buckets: Map<NodeId, QueuedUpdate>[][] = [[], [], [], []];
  private readonly byKey = new Map<NodeId, QueuedUpdate>();
  private droppedCount = 0;

  constructor(
    private readonly capacityMax: number,
    private readonly sizeOf: UpdateSizer,
  ) {}

  /** Updates queued. */
  get size(): number {
    return this.byKey.size;
  }

  /** Updates dropped because the queue was full. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Whether an update about `key` is queued. */
  has(key: NodeId): boolean {
    return this.byKey.has(key);
  }

  /** The queued update about `key`, if any. */
  get(key: NodeId): QueuedUpdate | undefined {
    return this.byKey.get(key);
  }

  /**
   * Queues `update` about `update.node`, replacing any older update about that node.
   * A full queue first drops its least valuable entry (lowest priority, most sent, oldest).
   */
  enqueue(update: GossipUpdate, priority: GossipPriority): void {
    const key = update.node;
    this.remove(key);
    if (this.byKey.size >= this.capacityMax) this.dropLeastValuable();
    const entry: QueuedUpdate = { key, update, priority, sizeBytes: this.sizeOf(update), transmits: 0 };
    this.bucket(priority, 0).set(key, entry);
    this.byKey.set(key, entry);
  }

  /** Removes any update about `key`; true when one was queued. */
  remove(key: NodeId): boolean {
    const entry = this.byKey.get(key);
    if (entry === undefined) return false;
    this.byKey.delete(key);
    this.buckets[entry.priority]![entry.transmits]?.delete(key);
    return true;
  }

  /**
   * Picks the updates for one outgoing message: highest priority first, then least
   * transmitted, then oldest; skips those that do not fit the remaining bytes. Each picked
   * update counts one transmit and leaves the queue once it reaches `transmitLimit`.
   */
  take(limits: TakeLimits): QueuedUpdate[] {
    const picked: QueuedUpdate[] = [];
    if (this.byKey.size === 0 || limits.countMax <= 0 || limits.bytesMax <= 0) return picked;
    let bytesLeft = limits.bytesMax;
    let skips = 0;
    const exclude = limits.excludeKeys;
    scan: for (const priority of PRIORITIES_HIGH_TO_LOW) {
      const byTransmits = this.buckets[priority]!;
      for (let transmits = 0; transmits < byTransmits.length; transmits++) {
        const bucket = byTransmits[transmits];
        if (bucket === undefined || bucket.size === 0) continue;
        if (transmits >= limits.transmitLimit) {
          // The cluster shrank since these were sent: they have been sent enough.
          for (const key of [...bucket.keys()]) this.remove(key);
          continue;
        }
        for (const entry of bucket.values()) {
          if (exclude !== undefined && exclude.includes(entry.key)) continue;
          if (entry.sizeBytes > bytesLeft) {
            if (++skips >= GOSSIP_SKIPS_MAX) break scan;
            continue;
          }
          picked.push(entry);
          bytesLeft -= entry.sizeBytes;
          if (picked.length >= limits.countMax) break scan;
        }
      }
    }
    // Move after the scan so an entry promoted to the next bucket is not picked twice.
    for (const entry of picked) this.countTransmit(entry, limits.transmitLimit);
    return picked;
  }

  /** All queued updates, highest priority first (for inspection and tests). */
  entries(): QueuedUpdate[] {
    const out: QueuedUpdate[] = [];
    for (const priority of PRIORITIES_HIGH_TO_LOW) {
      for (const bucket of this.buckets[priority]!) {
        if (bucket !== undefined) out.push(...bucket.values());
      }
    }
    return out;
  }

  private countTransmit(entry: QueuedUpdate, transmitLimit: number): void {
    this.buckets[entry.priority]![entry.transmits]!.delete(entry.key);
    entry.transmits++;
    if (entry.transmits >= transmitLimit) {
      this.byKey.delete(entry.key);
      return;
    }
    this.bucket(entry.priority, entry.transmits).set(entry.key, entry);
  }

  private bucket(priority: GossipPriority, transmits: number): Map<NodeId, QueuedUpdate> {
    const byTransmits = this.buckets[priority]!;
    let bucket = byTransmits[transmits];
    if (bucket === undefined) {
      for (let i = byTransmits.length; i <= transmits; i++) byTransmits.push(new Map());
      bucket = byTransmits[transmits]!;
    }
    return bucket;
  }

  private dropLeastValuable(): void {
    for (let priority = 0; priority < this.buckets.length; priority++) {
      const byTransmits = this.buckets[priority]!;
      for (let transmits = byTransmits.length - 1; transmits >= 0; transmits--) {
        const bucket = byTransmits[transmits];
        if (bucket === undefined || bucket.size === 0) continue;
        const oldest = bucket.keys().next().value as NodeId;
        this.remove(oldest);
        this.droppedCount++;
        return;
      }
    }
  }
}
