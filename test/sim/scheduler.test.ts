import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, SIM_EPOCH_MS } from '../../sim/scheduler.js';

describe('Scheduler', () => {
  it('starts at the simulation epoch', () => {
    expect(new Scheduler().now).toBe(SIM_EPOCH_MS);
    expect(new Scheduler(5).now).toBe(5);
  });

  it('runs equal-time actions in the order they were scheduled', () => {
    const s = new Scheduler(0);
    const order: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) s.at(10, () => order.push(name));
    s.at(5, () => order.push('early'));
    s.runFor(100);
    expect(order).toEqual(['early', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('pops any schedule in (time, insertion) order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const s = new Scheduler(0);
        const seen: [number, number][] = [];
        times.forEach((t, i) => s.at(t, () => seen.push([s.now, i])));
        s.runUntil(1_000);
        const expected = times.map((t, i) => [t, i] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        expect(seen).toEqual(expected);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('runs actions scheduled by actions, including at the same instant, after the earlier ones', () => {
    const s = new Scheduler(0);
    const order: string[] = [];
    s.at(1, () => {
      order.push('first');
      s.after(0, () => order.push('chained'));
    });
    s.at(1, () => order.push('second'));
    s.runFor(1);
    expect(order).toEqual(['first', 'second', 'chained']);
  });

  it('clamps the past to now and rounds times up to whole milliseconds', () => {
    const s = new Scheduler(100);
    const at: number[] = [];
    s.at(50, () => at.push(s.now));
    s.at(100.2, () => at.push(s.now));
    s.runFor(10);
    expect(at).toEqual([100, 101]);
  });

  it('runUntil leaves later actions pending and sets the clock', () => {
    const s = new Scheduler(0);
    let ran = 0;
    s.at(10, () => ran++);
    s.at(30, () => ran++);
    s.runUntil(20);
    expect(ran).toBe(1);
    expect(s.now).toBe(20);
    expect(s.pending).toBe(1);
    expect(s.peekTime()).toBe(30);
  });

  it('runUntilCondition stops at the first instant where the predicate holds', () => {
    const s = new Scheduler(0);
    let count = 0;
    for (let t = 1; t <= 10; t++) {
      s.at(t, () => count++);
      s.at(t, () => count++);
    }
    expect(s.runUntilCondition(() => count >= 5, 100)).toBe(3);
    expect(count).toBe(6);
    expect(s.runUntilCondition(() => count >= 100, 50)).toBeUndefined();
    expect(s.now).toBe(50);
    expect(s.runUntilCondition(() => true, 60)).toBe(50);
  });

  it('reports an action that reschedules itself forever at one instant', () => {
    const s = new Scheduler(0, 1_000);
    const spin = (): void => s.after(0, spin);
    s.at(1, spin);
    expect(() => s.runFor(10)).toThrow(/reschedules itself/);
  });

  it('runUntilAsync lets the promise chain of each action finish before the next action runs', async () => {
    const s = new Scheduler(0);
    const log: string[] = [];
    const chain = async (name: string): Promise<void> => {
      log.push(`${name} start`);
      await Promise.resolve();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      log.push(`${name} end`);
      // Work a continuation schedules at the same instant runs in that instant, after it.
      if (name === 'a') s.after(0, () => log.push('a follow-up'));
    };
    s.at(1, () => void chain('a'));
    s.at(1, () => void chain('b'));
    s.at(5, () => void chain('c'));
    await s.runUntilAsync(3, () => new Promise((resolve) => setImmediate(resolve)));
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'a follow-up']);
    expect(s.now).toBe(3);
    const at = await s.runUntilConditionAsync(() => log.includes('c end'), 10, () => new Promise((resolve) => setImmediate(resolve)));
    expect(at).toBe(5);
  });
});
