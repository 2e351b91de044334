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

/** The queue of pending writes. */
export class PendingWrites {
  /** Pending writes in order, each with its (map, key) id computed once. */
  private readonly writes: { readonly write: PendingWrite; readonly slot: string }[] = [];
  private readonly inFlight = new Set<number>();
  private readonly busyKeys = new Set<string>();
  private readonly waiters = new Map<number, Waiter>();
  /** Pending writes per (map, key), so `has` is O(1). */
  private readonly perSlot = new Map<string, number>();
  private lastSeq = 0;

  constructor(private readonly max: number) {}

  /** Take writes loaded from storage (sorted by seq; the sequence continues after them). */
  restore(writes: readonly PendingWrite[]): void {
    for (const w of [...writes].sort((a, b) => a.seq - b.seq)) {
      this.writes.push({ write: w, slot: slotId(w) });
      this.count(w, 1);
      this.lastSeq = Math.max(this.lastSeq, w.seq);
    }
  }

  /** A new write; resolves (with the node's answer) once acknowledged. @throws FLO_QUEUE_FULL */
  add(map: string, key: string, value: Uint8Array | null): { write: PendingWrite; acked: Promise<Uint8Array | null> } {
    if (this.writes.length >= this.max) throw new FlotillaError('FLO_QUEUE_FULL', `${this.max} writes are waiting for the cluster`);
    const write: PendingWrite = { seq: ++this.lastSeq, map, key, value };
    this.writes.push({ write, slot: slotId(write) });
    this.count(write, 1);
    const acked = new Promise<Uint8Array | null>((resolve, reject) => this.waiters.set(write.seq, { resolve, reject }));
    return { write, acked };
  }

  /** Whether `key` of `map` has a write not yet acknowledged. */
  has(map: string, key: string): boolean {
    return this.perSlot.has(`${map}\u0000${key}`);
  }

  size(): number {
    return this.writes.length;
  }

  /** Writes to send now: the oldest of each idle key, within the in-flight bound; marked in flight. */
  takeSendable(): PendingWrite[] {
    const out: PendingWrite[] = [];
    const seen = new Set<string>();
    for (const { write, slot } of this.writes) {
      if (this.inFlight.size >= WRITES_IN_FLIGHT_MAX) break;
      if (this.inFlight.has(write.seq) || seen.has(slot)) {
        seen.add(slot);
        continue;
      }
      seen.add(slot);
      if (this.busyKeys.has(slot)) continue;
      this.inFlight.add(write.seq);
      this.busyKeys.add(slot);
      out.push(write);
    }
    return out;
  }

  /** The write failed in a way worth retrying: it goes back in line. */
  release(write: PendingWrite): void {
    this.inFlight.delete(write.seq);
    this.busyKeys.delete(slotId(write));
  }

  /** Acknowledged (`error` undefined) or refused for good: out of the queue, its caller told. */
  finish(write: PendingWrite, payload: Uint8Array | null, error?: unknown): void {
    this.release(write);
    const at = this.writes.findIndex((w) => w.write.seq === write.seq);
    if (at >= 0) {
      this.writes.splice(at, 1);
      this.count(write, -1);
    }
    const waiter = this.waiters.get(write.seq);
    this.waiters.delete(write.seq);
    if (error === undefined) waiter?.resolve(payload);
    else waiter?.reject(error);
  }

  private count(w: PendingWrite, delta: number): void {
    const id = slotId(w);
    const n = (this.perSlot.get(id) ?? 0) + delta;
    if (n <= 0) this.perSlot.delete(id);
    else this.perSlot.set(id, n);
  }

  /** Fail every caller still waiting (the client closed); the writes stay in storage. */
  abandon(error: FlotillaError): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}

function slotId(w: PendingWrite): string {
  return `${w.map}\u0000${w.key}`;
}
