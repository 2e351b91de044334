/**
 * A FIFO with a hard capacity that drops its oldest item on overflow and counts the
 * drops: the shape of every output queue of the membership machine (transmits, events),
 * so a driver that stops draining costs memory up to a named maximum and no more.
 */

/** Ring-buffer FIFO of at most `capacityMax` items. */
export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private droppedCount = 0;

  constructor(readonly capacityMax: number) {
    this.items = new Array<T | undefined>(capacityMax);
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
      this.head = (this.head + 1) % this.capacityMax;
      this.count--;
      this.droppedCount++;
    }
    this.items[(this.head + this.count) % this.capacityMax] = item;
    this.count++;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacityMax;
    this.count--;
    return item;
  }
}
