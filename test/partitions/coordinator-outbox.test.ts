// The coordinator's bounded output queue: FIFO order, drop-oldest on overflow, counted.
import { describe, expect, it } from 'vitest';
import { CoordinatorOutbox } from '../../src/partitions/coordinator-outbox.js';

describe('CoordinatorOutbox', () => {
  it('is first in, first out', () => {
    const box = new CoordinatorOutbox<number>(10);
    for (let i = 0; i < 5; i++) box.push(i);
    expect([box.shift(), box.shift(), box.size]).toEqual([0, 1, 3]);
  });

  it('drops the oldest item when full and counts it', () => {
    const box = new CoordinatorOutbox<number>(3);
    for (let i = 0; i < 5; i++) box.push(i);
    expect(box.dropped).toBe(2);
    expect([box.shift(), box.shift(), box.shift(), box.shift()]).toEqual([2, 3, 4, undefined]);
  });

  it('keeps order across many pushes and shifts', () => {
    const box = new CoordinatorOutbox<number>(100_000);
    const out: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      box.push(i);
      if (i % 3 === 0) out.push(box.shift()!);
    }
    for (let x = box.shift(); x !== undefined; x = box.shift()) out.push(x);
    expect(out).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  });
});
