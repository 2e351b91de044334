/**
 * A bounded window of the latest numeric samples with running sums, so the mean and the
 * standard deviation cost O(1) per sample and per question. The phi accrual detector keeps
 * one per node for heartbeat intervals; the prober keeps one per member for probe round
 * trips.
 */
import { assert } from '../core/errors.js';

// Recompute the running sums from scratch this often, so rounding error cannot accumulate.
const RESUM_EVERY_SAMPLES = 1_000;

/** The last `capacity` samples, oldest overwritten first. */
export class SampleWindow {
  private readonly values: Float64Array;
  private head = 0;
  private filled = 0;
  private sum = 0;
  private sumSquares = 0;
  private sinceResum = 0;

  constructor(capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, 'sample window capacity must be an integer >= 1');
    this.values = new Float64Array(capacity);
  }

  /** Samples held (at most the capacity). */
  get count(): number {
    return this.filled;
  }

  /** Mean of the samples held; 0 when empty. */
  get mean(): number {
    return this.filled === 0 ? 0 : this.sum / this.filled;
  }

  /** Population standard deviation of the samples held; 0 when empty. */
  get stdDeviation(): number {
    if (this.filled === 0) return 0;
    const mean = this.sum / this.filled;
    return Math.sqrt(Math.max(0, this.sumSquares / this.filled - mean * mean));
  }

  /** Adds one sample, evicting the oldest when full. */
  add(value: number): void {
    const capacity = this.values.length;
    if (this.filled === capacity) {
      const evicted = this.values[this.head]!;
      this.sum -= evicted;
      this.sumSquares -= evicted * evicted;
    } else {
      this.filled++;
    }
    this.values[this.head] = value;
    this.head = (this.head + 1) % capacity;
    this.sum += value;
    this.sumSquares += value * value;
    if (++this.sinceResum >= RESUM_EVERY_SAMPLES) this.resum();
  }

  private resum(): void {
    let sum = 0;
    let sumSquares = 0;
    // The filled slots are [0, filled) until the ring is full, then all of them.
    for (let i = 0; i < this.filled; i++) {
      const v = this.values[i]!;
      sum += v;
      sumSquares += v * v;
    }
    this.sum = sum;
    this.sumSquares = sumSquares;
    this.sinceResum = 0;
  }
}
