import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { BoundedQueue } from '../../src/core/bounded-queue.js';
import { MemberList, type MemberEntry } from '../../src/membership/member-list.js';
import { ProbeOrder } from '../../src/membership/probe-order.js';

function entry(nodeId: string, now = 0): MemberEntry {
  return { nodeId, address: `${nodeId}:1`, state: 'alive', incarnation: 1, tags: {}, stateChangedAt: now };
}

describe('MemberList', () => {
  it('keeps counts per state', () => {
    const list = new MemberList('self', 1000);
    list.add(entry('self'));
    list.add(entry('a'));
    list.add(entry('b'));
    list.setState(list.get('a')!, 'suspect', 5);
    list.setState(list.get('b')!, 'dead', 5);
    expect([list.count('alive'), list.count('suspect'), list.count('dead'), list.count('left')]).toEqual([1, 1, 1, 0]);
    expect(list.liveCount).toBe(2);
  });

  it('never marks itself dead', () => {
    const list = new MemberList('self', 1000);
    list.add(entry('self'));
    expect(() => list.setState(list.self(), 'dead', 1)).toThrow(/self/);
  });

  it('reaps tombstones after tombstoneMs, unless the member came back', () => {
    const list = new MemberList('self', 1000);
    list.add(entry('self'));
    list.add(entry('a'));
    list.add(entry('b'));
    list.setState(list.get('a')!, 'dead', 100);
    list.setState(list.get('b')!, 'left', 200);
    list.setState(list.get('b')!, 'alive', 300);
    expect(list.nextReapAt()).toBe(1100);
    expect(list.reap(1099)).toEqual([]);
    expect(list.reap(1100)).toEqual(['a']);
    expect(list.reap(5000)).toEqual([]);
    expect(list.get('b')?.state).toBe('alive');
    expect(list.size).toBe(2);
  });

  it('samples distinct random members, never self', () => {
    const list = new MemberList('self', 1000);
    list.add(entry('self'));
    for (let i = 0; i < 20; i++) list.add(entry(`n${i}`));
    const random = new SeededRandom(3);
    for (let round = 0; round < 50; round++) {
      const picked = list.randomMembers(3, random, (e) => e.nodeId !== 'n1');
      expect(picked).toHaveLength(3);
      expect(new Set(picked.map((e) => e.nodeId)).size).toBe(3);
      expect(picked.some((e) => e.nodeId === 'self' || e.nodeId === 'n1')).toBe(false);
    }
    // Only one eligible: found by the fallback scan.
    expect(list.randomMembers(3, random, (e) => e.nodeId === 'n7').map((e) => e.nodeId)).toEqual(['n7']);
  });
});

describe('ProbeOrder', () => {
  it('visits every probeable member once per round', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const order = new ProbeOrder(new SeededRandom(seed));
        for (let i = 0; i < n; i++) order.add(`n${i}`);
        const all = (): boolean => true;
        for (let round = 0; round < 3; round++) {
          const seen = new Set<string>();
          for (let i = 0; i < n; i++) seen.add(order.next(all, all)!);
          expect(seen.size).toBe(n);
        }
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('skips members that cannot be probed and drops them at the reshuffle', () => {
    const order = new ProbeOrder(new SeededRandom(1));
    for (const id of ['a', 'b', 'c']) order.add(id);
    const alive = new Set(['a', 'c']);
    const ok = (id: string): boolean => alive.has(id);
    const picks = [order.next(ok, ok), order.next(ok, ok), order.next(ok, ok), order.next(ok, ok)];
    expect(picks.every((p) => p === 'a' || p === 'c')).toBe(true);
    expect(order.size).toBe(2);
    alive.clear();
    expect(order.next(ok, ok)).toBeUndefined();
  });
});

describe('BoundedQueue', () => {
  it('drops the oldest when full and counts it', () => {
    const q = new BoundedQueue<number>(3);
    for (let i = 1; i <= 5; i++) q.push(i);
    expect(q.dropped).toBe(2);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined]);
    q.push(6);
    expect(q.size).toBe(1);
  });
});
