/**
 * The driver's timers for services: an indexed binary min-heap of due times, so a timer
 * is added and cancelled in O(log n) and cancelled timers hold no memory. The driver arms
 * its one OS timer at `nextDue()` and runs `runDue(now)` in its turn.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { TimerHandle } from '../core/timers.js';

interface Entry {
  readonly at: Millis;
  readonly seq: number;
  readonly fn: () => void;
  /** Position in the heap; -1 once fired or cancelled. */
  index: number;
}

/** Pending timers, earliest first (ties in the order they were set). */
export class TimerHeap {
  private readonly heap: Entry[] = [];
  private seq = 0;

  /** @param timersMax most pending timers; one more is refused with FLO_QUEUE_FULL. */
  constructor(private readonly timersMax: number) {}

  get size(): number {
    return this.heap.length;
  }

  add(at: Millis, fn: () => void): TimerHandle {
    if (this.heap.length >= this.timersMax) throw new FlotillaError('FLO_QUEUE_FULL', `more than ${this.timersMax} timers pending`);
    const entry: Entry = { at, seq: this.seq++, fn, index: this.heap.length };
    this.heap.push(entry);
    this.up(entry.index);
    return { cancel: () => this.remove(entry) };
  }

  nextDue(): Millis | undefined {
    return this.heap[0]?.at;
  }

  /** Runs every timer due at `now` (at most `max`); true when more are due. */
  runDue(now: Millis, max: number, onError: (err: unknown) => void): boolean {
    for (let i = 0; i < max; i++) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) return false;
      this.remove(top);
      try {
        top.fn();
      } catch (err) {
        onError(err);
      }
    }
    return this.heap[0] !== undefined && this.heap[0].at <= now;
  }

  /** Runs every pending timer now, earliest first (the host is stopping). */
  flushAll(onError: (err: unknown) => void): void {
    while (this.heap.length > 0) this.runDue(Number.POSITIVE_INFINITY, this.heap.length, onError);
  }

  private remove(entry: Entry): void {
    const i = entry.index;
    if (i < 0) return;
    entry.index = -1;
    const last = this.heap.pop()!;
    if (last === entry) return;
    this.heap[i] = last;
    last.index = i;
    this.down(i);
    this.up(last.index);
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && this.less(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && this.less(heap[r]!, heap[best]!)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const x = heap[a]!;
    const y = heap[b]!;
    heap[a] = y;
    heap[b] = x;
    x.index = b;
    y.index = a;
  }
}
