// The bounded sample window: mean and deviation equal a direct computation over the last
// `capacity` samples, whatever was evicted before (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SampleWindow } from '../../src/membership/sample-window.js';

describe('SampleWindow', () => {
  it('is empty at first', () => {
    const w = new SampleWindow(4);
    expect([w.count, w.mean, w.stdDeviation]).toEqual([0, 0, 0]);
  });

  it('keeps the statistics of exactly the last capacity samples', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.double({ min: 0, max: 10_000, noNaN: true }), { maxLength: 3_000 }), (capacity, samples) => {
        const w = new SampleWindow(capacity);
        for (const s of samples) w.add(s);
        const kept = samples.slice(-capacity);
        expect(w.count).toBe(kept.length);
        if (kept.length === 0) return;
        const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
        const deviation = Math.sqrt(kept.reduce((a, b) => a + (b - mean) ** 2, 0) / kept.length);
        expect(w.mean).toBeCloseTo(mean, 6);
        expect(w.stdDeviation).toBeCloseTo(deviation, 3);
      }),
      { numRuns: 200 },
    );
  });
});
