/**
 * A circular list of the members that still have room under their quota. Assignment
 * walks it round-robin so new placements spread evenly, and drops a member once it is
 * full, so a pick costs O(1) amortized instead of a scan or a sort per partition.
 */
import { assert } from '../core/errors.js';

/**
 * Circular doubly-linked list over member indices `0..n-1` in rank order. Removed
 * members keep their forward pointer, so `next` works from any member, live or not
 * (pointer chains through removed members are compressed as they are followed).
 */
export class DeficitRing {
  private readonly nextOf: Int32Array;
  private readonly prevOf: Int32Array;
  private readonly live: Uint8Array;
  private liveCount: number;
  private headIndex: number;

  /** A ring holding every `m` in `0..n-1` for which `include(m)` is true. */
  constructor(n: number, include: (m: number) => boolean) {
    this.nextOf = new Int32Array(n);
    this.prevOf = new Int32Array(n);
    this.live = new Uint8Array(n).fill(1);
    for (let m = 0; m < n; m++) {
      this.nextOf[m] = (m + 1) % n;
      this.prevOf[m] = (m - 1 + n) % n;
    }
    this.liveCount = n;
    this.headIndex = n > 0 ? 0 : -1;
    for (let m = 0; m < n; m++) if (!include(m)) this.remove(m);
  }

  /** Members still in the ring. */
  get size(): number {
    return this.liveCount;
  }

  /** The first live member in rank order at construction, or -1 when empty. */
  head(): number {
    return this.liveCount === 0 ? -1 : this.resolve(this.headIndex);
  }

  /** True when `m` is still in the ring. */
  has(m: number): boolean {
    return this.live[m] === 1;
  }

  /** The next live member after `m` in circular rank order (`m` itself may be removed); -1 when empty. */
  next(m: number): number {
    if (this.liveCount === 0) return -1;
    return this.resolve(this.nextOf[m]!);
  }

  /** Take `m` out of the ring (no-op when already out). */
  remove(m: number): void {
    if (this.live[m] !== 1) return;
    const after = this.nextOf[m]!;
    const before = this.prevOf[m]!;
    this.nextOf[before] = after;
    this.prevOf[after] = before;
    this.live[m] = 0;
    this.liveCount--;
    if (this.headIndex === m) this.headIndex = after;
  }

  /** First live member at or after `m`, compressing the chain of removed members walked. */
  private resolve(m: number): number {
    let target = m;
    let steps = 0;
    while (this.live[target] !== 1) {
      target = this.nextOf[target]!;
      steps++;
      assert(steps <= this.live.length, 'deficit ring pointer chain does not reach a live member');
    }
    let walk = m;
    while (walk !== target) {
      const following = this.nextOf[walk]!;
      this.nextOf[walk] = target;
      walk = following;
    }
    return target;
  }
}
