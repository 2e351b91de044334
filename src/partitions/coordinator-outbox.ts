/**
 * The coordinator's output queues (messages to send, events for the driver): FIFOs with
 * a hard capacity that drop the oldest item on overflow and count it, so a driver that
 * stops draining costs memory up to a named maximum and no more.
 */

/** FIFO of at most `capacityMax` items; storage grows with use, not with the capacity. */
export class CoordinatorOutbox<T> {
  private items: T[] = [];
  private head = 0;
  private droppedCount = 0;

  constructor(readonly capacityMax: number) {}

  /** Items waiting. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Items dropped on overflow so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Appends `item`; when full, the oldest item is dropped first. */
  push(item: T): void {
    if (this.size >= this.capacityMax) {
      this.head++;
      this.droppedCount++;
    }
    this.items.push(item);
    this.compact();
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.head++;
    this.compact();
    return item;
  }

  /** Drop the consumed prefix once it is most of the array, keeping shifts O(1) amortised. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
