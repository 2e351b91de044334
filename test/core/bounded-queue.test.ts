import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/core/bounded-queue.js';

describe('BoundedQueue', () => {
  it('behaves as a FIFO that drops its oldest item beyond capacityMax, while it grows and wraps', () => {
    const op = fc.oneof(fc.record({ push: fc.nat() }), fc.constant({ shift: true as const }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.array(op, { maxLength: 400 }), (capacity, ops) => {
        const q = new BoundedQueue<number>(capacity);
        const model: number[] = [];
        let dropped = 0;
        for (const o of ops) {
          if ('push' in o) {
            q.push(o.push);
            model.push(o.push);
            if (model.length > capacity) {
              model.shift();
              dropped++;
            }
          } else expect(q.shift()).toBe(model.shift());
          expect(q.size).toBe(model.length);
          expect(q.dropped).toBe(dropped);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
