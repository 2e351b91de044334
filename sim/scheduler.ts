/**
 * Virtual time for the simulator: a priority queue of timed actions. Events at the same
 * instant run in the order they were scheduled (a binary heap keyed by time, then by a
 * sequence number), so a run depends only on what was scheduled, never on heap layout.
 */
import type { Millis } from '../src/core/clock.js';

/** Where virtual time starts: a realistic Unix timestamp (2023-11-14T22:13:20Z). */
export const SIM_EPOCH_MS: Millis = 1_700_000_000_000;

/**
 * Upper bound on actions run at one virtual instant. Something that keeps rescheduling
 * itself with zero delay would otherwise spin forever without time moving; reaching the
 * bound is a bug, reported loudly.
 */
export const ACTIONS_PER_INSTANT_MAX = 10_000_000;

interface Entry {
  readonly at: Millis;
  readonly seq: number;
  readonly action: () => void;
}

/** A deterministic discrete-event scheduler over virtual milliseconds. */
export class Scheduler {
  private current: Millis;
  private seq = 0;
  private executed = 0;
  private atThisInstant = 0;
  private readonly heap: Entry[] = [];

  /** `actionsPerInstantMax` defaults to `ACTIONS_PER_INSTANT_MAX`. */
  constructor(
    startMs: Millis = SIM_EPOCH_MS,
    private readonly actionsPerInstantMax: number = ACTIONS_PER_INSTANT_MAX,
  ) {
    this.current = startMs;
  }

  /** Current virtual time. */
  get now(): Millis {
    return this.current;
  }

  /** Number of actions waiting. */
  get pending(): number {
    return this.heap.length;
  }

  /** Number of actions run since construction. */
  get executedCount(): number {
    return this.executed;
  }

  /** Time of the earliest waiting action, or undefined when none waits. */
  peekTime(): Millis | undefined {
    return this.heap[0]?.at;
  }

  /**
   * Run `action` at virtual time `at`, rounded up to a whole millisecond (machines see
   * integer timestamps, like `Date.now()`) and clamped to now: the past is not reachable.
   * Actions at equal times run in the order they were scheduled.
   */
  at(at: Millis, action: () => void): void {
    const whole = Math.ceil(at);
    const entry: Entry = { at: whole < this.current ? this.current : whole, seq: this.seq++, action };
    this.push(entry);
  }

  /** Run `action` `delayMs` from now. */
  after(delayMs: Millis, action: () => void): void {
    this.at(this.current + Math.max(0, delayMs), action);
  }

  /** Run every action due at or before `t`, then set the clock to `t`. */
  runUntil(t: Millis): void {
    t = Math.floor(t);
    while (this.heap.length > 0 && this.heap[0]!.at <= t) this.step();
    if (t > this.current) this.current = t;
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: Millis): void {
    this.runUntil(this.current + ms);
  }

  /**
   * Run until `pred()` holds or virtual time reaches `deadlineMs` (an absolute time).
   * The predicate is checked before the first action and after each instant's actions
   * have all run, so it never sees a half-processed instant. Returns the virtual time at
   * which it held, or undefined when the deadline passed first (the clock then reads
   * `deadlineMs`).
   */
  runUntilCondition(pred: () => boolean, deadlineMs: Millis): Millis | undefined {
    deadlineMs = Math.floor(deadlineMs);
    if (pred()) return this.current;
    while (this.heap.length > 0 && this.heap[0]!.at <= deadlineMs) {
      const instant = this.heap[0]!.at;
      while (this.heap.length > 0 && this.heap[0]!.at === instant) this.step();
      if (pred()) return this.current;
    }
    if (deadlineMs > this.current) this.current = deadlineMs;
    return undefined;
  }

  /**
   * `runUntil` for hosts whose machines do asynchronous work: after every action,
   * `settle()` is awaited (it lets the promise continuations the action started run), so
   * each action's consequences are complete before the next action runs, as they would
   * be between two events of a real process. The order stays a pure function of what was
   * scheduled.
   */
  async runUntilAsync(t: Millis, settle: () => Promise<void>): Promise<void> {
    t = Math.floor(t);
    await settle();
    while (this.heap.length > 0 && this.heap[0]!.at <= t) {
      this.step();
      await settle();
    }
    if (t > this.current) this.current = t;
  }

  /** `runUntilCondition` with `settle()` awaited after every action (see `runUntilAsync`). */
  async runUntilConditionAsync(pred: () => boolean, deadlineMs: Millis, settle: () => Promise<void>): Promise<Millis | undefined> {
    deadlineMs = Math.floor(deadlineMs);
    await settle();
    if (pred()) return this.current;
    while (this.heap.length > 0 && this.heap[0]!.at <= deadlineMs) {
      const instant = this.heap[0]!.at;
      while (this.heap.length > 0 && this.heap[0]!.at === instant) {
        this.step();
        await settle();
      }
      if (pred()) return this.current;
    }
    if (deadlineMs > this.current) this.current = deadlineMs;
    return undefined;
  }

  private step(): void {
    const entry = this.pop();
    if (entry.at !== this.current) {
      this.current = entry.at;
      this.atThisInstant = 0;
    } else if (++this.atThisInstant > this.actionsPerInstantMax) {
      throw new Error(`scheduler: more than ${this.actionsPerInstantMax} actions at t=${this.current}; something reschedules itself with no delay`);
    }
    this.executed++;
    entry.action();
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
