// The ring of members under quota: round-robin order, removal, walking from removed members.
import { describe, expect, it } from 'vitest';
import { DeficitRing } from '../../src/partitions/deficit-ring.js';

describe('DeficitRing', () => {
  it('walks members in circular rank order and skips removed ones', () => {
    const ring = new DeficitRing(5, (m) => m !== 2);
    expect(ring.size).toBe(4);
    expect(ring.head()).toBe(0);
    expect(ring.next(1)).toBe(3);
    expect(ring.next(4)).toBe(0);
    expect(ring.next(2)).toBe(3); // from a member that is not in the ring
    ring.remove(3);
    ring.remove(3);
    expect(ring.size).toBe(3);
    expect(ring.has(3)).toBe(false);
    expect(ring.next(1)).toBe(4);
    expect(ring.next(2)).toBe(4);
  });

  it('follows chains of removed members, and reports -1 once empty', () => {
    const ring = new DeficitRing(6, () => true);
    for (const m of [0, 1, 2, 3]) ring.remove(m);
    expect(ring.head()).toBe(4);
    expect(ring.next(0)).toBe(4);
    expect(ring.next(5)).toBe(4);
    ring.remove(4);
    ring.remove(5);
    expect(ring.head()).toBe(-1);
    expect(ring.next(0)).toBe(-1);
  });
});
