import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/core/slots.js';

describe('Slots', () => {
  it('lets max holders in at once and hands released slots to waiters in order', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    await slots.acquire();
    await slots.acquire();
    const third = slots.acquire().then(() => order.push('third'));
    const fourth = slots.acquire().then(() => order.push('fourth'));
    await Promise.resolve();
    expect(order).toEqual([]);
    slots.release();
    await third;
    expect(order).toEqual(['third']);
    slots.release();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    // Two held (third, fourth): two releases free both, and the next two pass at once.
    slots.release();
    slots.release();
    let passed = 0;
    await Promise.all([slots.acquire(), slots.acquire()].map((p) => p.then(() => passed++)));
    expect(passed).toBe(2);
  });
});
