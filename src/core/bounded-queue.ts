/**
 * A FIFO with a hard capacity that drops its oldest item on overflow and counts the
 * drops: the shape of every output queue of the membership machine (transmits, events),
 * so a driver that stops draining costs memory up to a named maximum and no more.
 */

/** Slots a queue starts with; it doubles as needed up to its capacity. */
const INITIAL_SLOTS = 16;

/**
 * Ring-buffer FIFO of at most `capacityMax` items. The ring starts small and doubles when
 * full, so a queue that is drained promptly (the usual case) stays a few cache lines
 * however large its bound.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private droppedCount = 0;

  constructor(readonly capacityMax: number) {
    this.items = new Array<T | undefined>(Math.min(capacityMax, INITIAL_SLOTS));
  }

  /** Items waiting. */
  get size(): number {
    return this.count;
  }

  /** Items dropped on overflow so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Appends `item`; when full, the oldest item is dropped first. */
  push(item: T): void {
    if (this.count === this.capacityMax) {
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.items.length;
      this.count--;
      this.droppedCount++;
    } else if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  /** Doubles the ring (never past `capacityMax`), keeping the items in order. */
  private grow(): void {
    const next = new Array<T | undefined>(Math.min(this.capacityMax, this.items.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
