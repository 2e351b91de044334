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
  private readonly slots = new Map<string, Slot>();
  /** Keys whose oldest write is not in flight, in the order they became so (a Map keeps insertion order). */
  private readonly ready = new Map<string, Slot>();
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
    return this.slots.has(slotId(map, key));
  }

  size(): number {
    return this.pending;
  }

  /** Writes to send now: the oldest of each idle key, within the in-flight bound; marked in flight. */
  takeSendable(): PendingWrite[] {
    const out: PendingWrite[] = [];
    for (const [id, slot] of this.ready) {
      if (this.inFlight >= WRITES_IN_FLIGHT_MAX) break;
      this.ready.delete(id);
      slot.headInFlight = true;
      this.inFlight++;
      out.push(slot.queue[slot.head]!);
    }
    return out;
  }

  /** The write failed in a way worth retrying: it goes back in line. */
  release(write: PendingWrite): void {
    const id = slotId(write.map, write.key);
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.headInFlight || slot.queue[slot.head] !== write) return;
    slot.headInFlight = false;
    this.inFlight--;
    this.ready.set(id, slot);
  }

  /** Acknowledged (`error` undefined) or refused for good: out of the queue, its caller told. */
  finish(write: PendingWrite, payload: Uint8Array | null, error?: unknown): void {
    const id = slotId(write.map, write.key);
    const slot = this.slots.get(id);
    if (slot !== undefined) this.remove(id, slot, write);
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
    const id = slotId(write.map, write.key);
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = { queue: [], head: 0, headInFlight: false };
      this.slots.set(id, slot);
      this.ready.set(id, slot);
    }
    slot.queue.push(write);
    this.pending++;
  }

  private remove(id: string, slot: Slot, write: PendingWrite): void {
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
      this.slots.delete(id);
      this.ready.delete(id);
      return;
    }
    if (slot.head > 32 && slot.head * 2 > slot.queue.length) {
      slot.queue.splice(0, slot.head);
      slot.head = 0;
    }
    if (!slot.headInFlight) this.ready.set(id, slot);
  }
}

function slotId(map: string, key: string): string {
  return `${map}\u0000${key}`;
}
