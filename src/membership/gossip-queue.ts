/**
 * The gossip (broadcast) queue: membership updates waiting to ride on outgoing messages.
 * Like memberlist's TransmitLimitedQueue, a newer update about a node replaces the older
 * one, each update is sent a bounded number of times, and the least-transmitted go first;
 * unlike it, updates carry a priority (Critical > High > Medium > Low) so deaths and
 * refutations overtake routine news, and the queue itself has a hard size.
 */
import type { NodeId } from '../core/model.js';
import type { GossipUpdate } from '../protocol/messages.js';
import type { UpdateSizer } from './size.js';

/** Priority of a queued update; higher goes first. */
export const GossipPriority = Object.freeze({ Low: 0, Medium: 1, High: 2, Critical: 3 } as const);
export type GossipPriority = (typeof GossipPriority)[keyof typeof GossipPriority];

const PRIORITIES_HIGH_TO_LOW: readonly GossipPriority[] = [3, 2, 1, 0];

/**
 * Most entries `take` skips for not fitting the remaining bytes before it gives up, so
 * a nearly full budget never scans the whole queue.
 */
export const GOSSIP_SKIPS_MAX = 64;

/**
 * memberlist's retransmitLimit: how many times one update is sent in a cluster of `n`
 * members, `mult * ceil(log10(n + 1))`.
 */
export function retransmitLimit(mult: number, n: number): number {
  const scale = Math.ceil(Math.log10(Math.max(0, n) + 1));
  return mult * Math.max(1, scale);
}

/** One update in the queue. */
export interface QueuedUpdate {
  /** The node the update is about: a newer update about it replaces this one. */
  readonly key: NodeId;
  readonly update: GossipUpdate;
  readonly priority: GossipPriority;
  readonly sizeBytes: number;
  transmits: number;
}

/** Limits of one `take`. */
export interface TakeLimits {
  /** Times an update may be sent before it is dropped (see `retransmitLimit`). */
  readonly transmitLimit: number;
  /** Most updates to return. */
  readonly countMax: number;
  /** Most bytes (sum of update sizes) to return. */
  readonly bytesMax: number;
  /** Nodes whose queued update must stay queued (the message already says something about them). */
  readonly excludeKeys?: readonly NodeId[] | undefined;
}

/** A queued update linked into its (priority, transmits) bucket. */
interface Slot extends QueuedUpdate {
  prev: Slot | undefined;
  next: Slot | undefined;
}

/**
 * One bucket: an intrusive doubly linked list in arrival order, so appending, unlinking
 * and scanning cost no hashing and no allocation (gossip is picked for every message).
 */
interface Bucket {
  head: Slot | undefined;
  tail: Slot | undefined;
  size: number;
}

/** Priority-ordered, transmit-limited, bounded queue of gossip updates. */
export class GossipQueue {
  /** buckets[priority][transmits]: entries in arrival order (oldest first). */
  private readonly buckets: Bucket[][] = [[], [], [], []];
  private readonly byKey = new Map<NodeId, Slot>();
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
    const slot: Slot = { key, update, priority, sizeBytes: this.sizeOf(update), transmits: 0, prev: undefined, next: undefined };
    append(this.bucket(priority, 0), slot);
    this.byKey.set(key, slot);
  }

  /** Removes any update about `key`; true when one was queued. */
  remove(key: NodeId): boolean {
    const slot = this.byKey.get(key);
    if (slot === undefined) return false;
    this.byKey.delete(key);
    unlink(this.buckets[slot.priority]![slot.transmits]!, slot);
    return true;
  }

  /**
   * Picks the updates for one outgoing message: highest priority first, then least
   * transmitted, then oldest; skips those that do not fit the remaining bytes. Each picked
   * update counts one transmit and leaves the queue once it reaches `transmitLimit`.
   */
  take(limits: TakeLimits): QueuedUpdate[] {
    const picked: Slot[] = [];
    if (this.byKey.size === 0 || limits.countMax <= 0 || limits.bytesMax <= 0) return picked;
    let bytesLeft = limits.bytesMax;
    let skips = 0;
    const exclude = limits.excludeKeys;
    scan: for (const priority of PRIORITIES_HIGH_TO_LOW) {
      const byTransmits = this.buckets[priority]!;
      for (let transmits = 0; transmits < byTransmits.length; transmits++) {
        const bucket = byTransmits[transmits]!;
        if (bucket.size === 0) continue;
        if (transmits >= limits.transmitLimit) {
          // The cluster shrank since these were sent: they have been sent enough.
          for (let slot = bucket.head; slot !== undefined; slot = slot.next) this.byKey.delete(slot.key);
          bucket.head = bucket.tail = undefined;
          bucket.size = 0;
          continue;
        }
        for (let slot = bucket.head; slot !== undefined; slot = slot.next) {
          if (exclude !== undefined && exclude.includes(slot.key)) continue;
          if (slot.sizeBytes > bytesLeft) {
            if (++skips >= GOSSIP_SKIPS_MAX) break scan;
            continue;
          }
          picked.push(slot);
          bytesLeft -= slot.sizeBytes;
          if (picked.length >= limits.countMax) break scan;
        }
      }
    }
    // Move after the scan so an entry promoted to the next bucket is not picked twice.
    for (const slot of picked) this.countTransmit(slot, limits.transmitLimit);
    return picked;
  }

  /** All queued updates, highest priority first (for inspection and tests). */
  entries(): QueuedUpdate[] {
    const out: QueuedUpdate[] = [];
    for (const priority of PRIORITIES_HIGH_TO_LOW) {
      for (const bucket of this.buckets[priority]!) {
        for (let slot = bucket.head; slot !== undefined; slot = slot.next) out.push(slot);
      }
    }
    return out;
  }

  private countTransmit(slot: Slot, transmitLimit: number): void {
    unlink(this.buckets[slot.priority]![slot.transmits]!, slot);
    slot.transmits++;
    if (slot.transmits >= transmitLimit) {
      this.byKey.delete(slot.key);
      return;
    }
    append(this.bucket(slot.priority, slot.transmits), slot);
  }

  private bucket(priority: GossipPriority, transmits: number): Bucket {
    const byTransmits = this.buckets[priority]!;
    for (let i = byTransmits.length; i <= transmits; i++) byTransmits.push({ head: undefined, tail: undefined, size: 0 });
    return byTransmits[transmits]!;
  }

  private dropLeastValuable(): void {
    for (let priority = 0; priority < this.buckets.length; priority++) {
      const byTransmits = this.buckets[priority]!;
      for (let transmits = byTransmits.length - 1; transmits >= 0; transmits--) {
        const oldest = byTransmits[transmits]!.head;
        if (oldest === undefined) continue;
        this.remove(oldest.key);
        this.droppedCount++;
        return;
      }
    }
  }
}

function append(bucket: Bucket, slot: Slot): void {
  slot.prev = bucket.tail;
  slot.next = undefined;
  if (bucket.tail === undefined) bucket.head = slot;
  else bucket.tail.next = slot;
  bucket.tail = slot;
  bucket.size++;
}

function unlink(bucket: Bucket, slot: Slot): void {
  if (slot.prev === undefined) bucket.head = slot.next;
  else slot.prev.next = slot.next;
  if (slot.next === undefined) bucket.tail = slot.prev;
  else slot.next.prev = slot.prev;
  slot.prev = slot.next = undefined;
  bucket.size--;
}
