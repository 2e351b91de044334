/**
 * The nearest durable timers of an owner's partitions, the only ones it holds in memory.
 * The window holds every timer up to its horizon (a due time and id): a timer scheduled
 * beyond the horizon stays in storage only, and when the window runs dry before the
 * horizon is the end of all timers, the owner reads the next ones. Memory stays bounded
 * by `max` however many timers exist.
 */
import type { DurableTimer } from '../storage/durable.js';

/** A position in (dueAt, id) order. */
interface Position {
  readonly dueAt: number;
  readonly id: string;
}

function compare(a: Position, b: Position): number {
  if (a.dueAt !== b.dueAt) return a.dueAt - b.dueAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The in-memory window of nearest timers. */
export class TimerWindow {
  private entries: DurableTimer[] = [];
  /** Every stored timer at or before this position is in `entries`; undefined: all of them are. */
  private horizon: Position | undefined;
  /** False until the first load: nothing is known. */
  private loaded = false;

  constructor(private readonly max: number) {}

  /** Replace the window by the `limit` nearest timers read from storage. */
  load(rows: readonly DurableTimer[], limit: number): void {
    this.entries = [...rows].sort(compare).slice(0, this.max);
    const last = this.entries.at(-1);
    this.horizon = rows.length >= limit && last !== undefined ? { dueAt: last.dueAt, id: last.id } : undefined;
    this.loaded = true;
  }

  /** Forget everything (no partition owned, or ownership changing): the next use reloads. */
  reset(): void {
    this.entries = [];
    this.horizon = undefined;
    this.loaded = false;
  }

  /** A timer was scheduled (or replaced) in an owned partition. */
  add(timer: DurableTimer): void {
    this.remove(timer.id);
    if (!this.loaded) return;
    if (this.horizon !== undefined && compare(timer, this.horizon) > 0) return;
    const at = this.entries.findIndex((e) => compare(timer, e) < 0);
    if (at === -1) this.entries.push(timer);
    else this.entries.splice(at, 0, timer);
    if (this.entries.length > this.max) {
      this.entries.pop();
      const last = this.entries.at(-1)!;
      this.horizon = { dueAt: last.dueAt, id: last.id };
    }
  }

  /** A timer fired or was cancelled; true when it was in the window. */
  remove(id: string): boolean {
    const at = this.entries.findIndex((e) => e.id === id);
    if (at === -1) return false;
    this.entries.splice(at, 1);
    return true;
  }

  /** Timers due at `now`, earliest first, at most `limit`. */
  due(now: number, limit: number): DurableTimer[] {
    const out: DurableTimer[] = [];
    for (const e of this.entries) {
      if (e.dueAt > now || out.length >= limit) break;
      out.push(e);
    }
    return out;
  }

  /** Postpone a timer in memory only (its firing failed; storage keeps its due time). */
  postpone(id: string, dueAt: number): void {
    const at = this.entries.findIndex((e) => e.id === id);
    if (at === -1) return;
    const [timer] = this.entries.splice(at, 1);
    const later = { ...timer!, dueAt };
    const to = this.entries.findIndex((e) => compare(later, e) < 0);
    if (to === -1) this.entries.push(later);
    else this.entries.splice(to, 0, later);
  }

  /** The earliest due time in memory, or undefined. */
  nextDue(): number | undefined {
    return this.entries[0]?.dueAt;
  }

  /** True when storage must be read: never loaded, or empty with timers beyond the horizon. */
  needsLoad(): boolean {
    return !this.loaded || (this.entries.length === 0 && this.horizon !== undefined);
  }

  /** Timers held in memory. */
  size(): number {
    return this.entries.length;
  }
}
