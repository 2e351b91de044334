/**
 * A count of slots with a FIFO of waiters: at most `max` holders at once; `acquire`
 * resolves at once when a slot is free, else when one is released to it.
 */
export class Slots {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly max: number) {}

  acquire(): Promise<void> {
    if (this.held < this.max) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the slot to the longest waiter, or frees it. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.held--;
  }
}
