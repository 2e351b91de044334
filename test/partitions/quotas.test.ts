// Floor/ceil quotas with priorities and caps, and the priority ordering.
import { describe, expect, it } from 'vitest';
import { balancedQuotas, byKeyDescending } from '../../src/partitions/quotas.js';

describe('balancedQuotas', () => {
  it.each<[string, number, number[], number[] | undefined, number[]]>([
    ['even split', 9, [0, 1, 2], undefined, [3, 3, 3]],
    ['extras in priority order', 11, [2, 0, 1], undefined, [4, 3, 4]],
    ['271 over 3', 271, [0, 1, 2], undefined, [91, 90, 90]],
    ['cap below the ceiling skips to the next member', 11, [0, 1, 2], [3, 9, 9], [3, 4, 4]],
    ['cap below the floor hands the shortfall on', 12, [0, 1, 2], [2, 9, 9], [2, 5, 5]],
    ['no members', 5, [], undefined, []],
  ])('%s', (_, total, priority, cap, expected) => {
    const quota = balancedQuotas(total, priority, cap === undefined ? undefined : Int32Array.from(cap));
    expect([...quota]).toEqual(expected);
  });

  it('orders by key descending, then secondary ascending, then index', () => {
    expect(byKeyDescending(Int32Array.from([1, 3, 3, 0]))).toEqual([1, 2, 0, 3]);
    expect(byKeyDescending(Int32Array.from([2, 2, 2]), Int32Array.from([5, 1, 5]))).toEqual([1, 0, 2]);
  });
});
