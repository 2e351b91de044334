/**
 * Writes waiting for their acknowledgement, in the order this client made them. Writes
 * to one key go out one at a time, oldest first, so a retry through another node can
 * never land an older value after a newer one; writes to different keys go out together.
 */
import { FlotillaError } from '../core/errors.js';
import type { PendingWrite } from './storage.js';

/** Writes sent at once, at most (across all keys). */
export const WRITES_IN_FLIGHT_MAX = 1024;

interface Waiter {
  resolve(payload: Uint8Array | null): void;
  reject(error: unknown): void;
}

/** One (map, key)'s pending writes, oldest first; only the head may be in flight. */
interface Slot {
  readonly map: string;
  readonly key: string;
  readonly queue: PendingWrite[];
  /** Index of the oldest write still pending (the queue is compacted as it drains). */
  head: number;
  headInFlight: boolean;
}

/**
 * The queue of pending writes. Each (map, key) keeps its own line; a ready list holds the
 * keys whose oldest write may go now, so taking, acknowledging and retrying cost O(1) per
 * write however many are pending or in flight (a scan of every pending write per
 * acknowledgement made a client with hundreds in flight spend a fifth of its time here).
 */
export class PendingWrites {
  /** Per map, per key: nested rather than one map of joined names, which cost a string per lookup. */
  private readonly slots = new Map<string, Map<string, Slot>>();
  /** Keys whose oldest write is not in flight, in the order they became so (a Set keeps insertion order). */
  private readonly ready = new Set<Slot>();
  private readonly waiters = new Map<number, Waiter>();
  private pending = 0;
  private inFlight = 0;
  private lastSeq = 0;

  constructor(private readonly max: number) {}

  /** Take writes loaded from storage (sorted by seq; the sequence continues after them). */
  restore(writes: readonly PendingWrite[]): void {
    for (const w of [...writes].sort((a, b) => a.seq - b.seq)) {
      this.enqueue(w);
      this.lastSeq = Math.max(this.lastSeq, w.seq);
    }
  }

  /** A new write; resolves (with the node's answer) once acknowledged. @throws FLO_QUEUE_FULL */
  add(map: string, key: string, value: Uint8Array | null): { write: PendingWrite; acked: Promise<Uint8Array | null> } {
    if (this.pending >= this.max) throw new FlotillaError('FLO_QUEUE_FULL', `${this.max} writes are waiting for the cluster`);
    const write: PendingWrite = { seq: ++this.lastSeq, map, key, value };
    this.enqueue(write);
    const acked = new Promise<Uint8Array | null>((resolve, reject) => this.waiters.set(write.seq, { resolve, reject }));
    return { write, acked };
  }

  /** Whether `key` of `map` has a write not yet acknowledged. */
  has(map: string, key: string): boolean {
    return this.slots.get(map)?.has(key) ?? false;
  }

  size(): number {
    return this.pending;
  }

  /** Writes to send now: the oldest of each idle key, within the in-flight bound; marked in flight. */
  takeSendable(): PendingWrite[] {
    const out: PendingWrite[] = [];
    for (const slot of this.ready) {
      if (this.inFlight >= WRITES_IN_FLIGHT_MAX) break;
      this.ready.delete(slot);
      slot.headInFlight = true;
      this.inFlight++;
      out.push(slot.queue[slot.head]!);
    }
    return out;
  }

  /** The write failed in a way worth retrying: it goes back in line. */
  release(write: PendingWrite): void {
    const slot = this.slots.get(write.map)?.get(write.key);
    if (slot === undefined || !slot.headInFlight || slot.queue[slot.head] !== write) return;
    slot.headInFlight = false;
    this.inFlight--;
    this.ready.add(slot);
  }

  /** Acknowledged (`error` undefined) or refused for good: out of the queue, its caller told. */
  finish(write: PendingWrite, payload: Uint8Array | null, error?: unknown): void {
    const slot = this.slots.get(write.map)?.get(write.key);
    if (slot !== undefined) this.remove(slot, write);
    const waiter = this.waiters.get(write.seq);
    this.waiters.delete(write.seq);
    if (error === undefined) waiter?.resolve(payload);
    else waiter?.reject(error);
  }

  /** Fail every caller still waiting (the client closed); the writes stay in storage. */
  abandon(error: FlotillaError): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  private enqueue(write: PendingWrite): void {
    let keys = this.slots.get(write.map);
    if (keys === undefined) {
      keys = new Map();
      this.slots.set(write.map, keys);
    }
    let slot = keys.get(write.key);
    if (slot === undefined) {
      slot = { map: write.map, key: write.key, queue: [], head: 0, headInFlight: false };
      keys.set(write.key, slot);
      this.ready.add(slot);
    }
    slot.queue.push(write);
    this.pending++;
  }

  private remove(slot: Slot, write: PendingWrite): void {
    const at = slot.queue.indexOf(write, slot.head);
    if (at < 0) return;
    this.pending--;
    if (at === slot.head) {
      if (slot.headInFlight) {
        slot.headInFlight = false;
        this.inFlight--;
      }
      slot.head++;
    } else {
      slot.queue.splice(at, 1);
    }
    if (slot.head === slot.queue.length) {
      const keys = this.slots.get(slot.map)!;
      keys.delete(slot.key);
      if (keys.size === 0) this.slots.delete(slot.map);
      this.ready.delete(slot);
      return;
    }
    if (slot.head > 32 && slot.head * 2 > slot.queue.length) {
      slot.queue.splice(0, slot.head);
      slot.head = 0;
    }
    if (!slot.headInFlight) this.ready.add(slot);
  }
}
