import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GossipUpdate } from '../../src/protocol/messages.js';
import { GossipPriority, GossipQueue, retransmitLimit, type QueuedUpdate } from '../../src/membership/gossip-queue.js';
import { ReferenceGossipQueue } from './gossip-queue-reference.js';

function alive(node: string, incarnation = 1): GossipUpdate {
  return { type: 'Alive', node, incarnation, address: `${node}:1`, tags: {} };
}
function dead(node: string, incarnation = 1): GossipUpdate {
  return { type: 'Dead', node, incarnation, from: 'x', left: false };
}
/** Every update weighs 100 bytes, so byte budgets are easy to reason about. */
const flat = (): number => 100;
const unlimited = { transmitLimit: 100, countMax: 100, bytesMax: 1_000_000 };

describe('retransmitLimit', () => {
  const cases: [number, number, number][] = [
    [4, 0, 4],
    [4, 1, 4],
    [4, 9, 4],
    [4, 10, 8],
    [4, 99, 8],
    [4, 100, 12],
    [4, 1000, 16],
    [3, 5, 3],
  ];
  it.each(cases)('mult %i, n=%i -> %i', (mult, n, expected) => {
    expect(retransmitLimit(mult, n)).toBe(expected);
  });
});

describe('GossipQueue', () => {
  it('sends higher priorities first', () => {
    const q = new GossipQueue(100, flat);
    q.enqueue(alive('low'), GossipPriority.Low);
    q.enqueue(alive('medium'), GossipPriority.Medium);
    q.enqueue(dead('critical'), GossipPriority.Critical);
    q.enqueue(alive('high'), GossipPriority.High);
    expect(q.take(unlimited).map((e) => e.key)).toEqual(['critical', 'high', 'medium', 'low']);
  });

  it('sends the least-transmitted first within a priority, oldest first among equals', () => {
    const q = new GossipQueue(100, flat);
    q.enqueue(alive('a'), GossipPriority.Medium);
    q.enqueue(alive('b'), GossipPriority.Medium);
    expect(q.take({ ...unlimited, countMax: 1 }).map((e) => e.key)).toEqual(['a']);
    q.enqueue(alive('c'), GossipPriority.Medium);
    // a has 1 transmit; b and c have 0 (b older).
    expect(q.take({ ...unlimited, countMax: 2 }).map((e) => e.key)).toEqual(['b', 'c']);
    expect(q.take({ ...unlimited, countMax: 1 }).map((e) => e.key)).toEqual(['a']);
  });

  it('replaces an older update about the same node and resets its transmits', () => {
    const q = new GossipQueue(100, flat);
    q.enqueue(alive('a', 1), GossipPriority.Medium);
    q.take(unlimited);
    q.enqueue(dead('a', 1), GossipPriority.Critical);
    expect(q.size).toBe(1);
    const [entry] = q.take(unlimited);
    expect(entry!.update.type).toBe('Dead');
    expect(entry!.transmits).toBe(1);
  });

  it('drops an update once sent transmitLimit times', () => {
    const q = new GossipQueue(100, flat);
    q.enqueue(alive('a'), GossipPriority.Medium);
    const limits = { ...unlimited, transmitLimit: 3 };
    expect(q.take(limits)).toHaveLength(1);
    expect(q.take(limits)).toHaveLength(1);
    expect(q.take(limits)).toHaveLength(1);
    expect(q.take(limits)).toHaveLength(0);
    expect(q.size).toBe(0);
  });

  it('drops updates already sent enough when the limit shrinks', () => {
    const q = new GossipQueue(100, flat);
    q.enqueue(alive('a'), GossipPriority.Medium);
    for (let i = 0; i < 5; i++) q.take(unlimited);
    expect(q.take({ ...unlimited, transmitLimit: 4 })).toHaveLength(0);
    expect(q.size).toBe(0);
  });

  it('respects the count limit', () => {
    const q = new GossipQueue(100, flat);
    for (let i = 0; i < 30; i++) q.enqueue(alive(`n${i}`), GossipPriority.Medium);
    expect(q.take({ ...unlimited, countMax: 20 })).toHaveLength(20);
  });

  it('respects the byte budget and skips what does not fit', () => {
    const sizes: Record<string, number> = { big: 900, a: 100, b: 100 };
    const q = new GossipQueue(100, (u) => sizes[u.node]!);
    q.enqueue(alive('a'), GossipPriority.Medium);
    q.enqueue(alive('big'), GossipPriority.High);
    q.enqueue(alive('b'), GossipPriority.Medium);
    expect(q.take({ ...unlimited, bytesMax: 250 }).map((e) => e.key)).toEqual(['a', 'b']);
    expect(q.take({ ...unlimited, bytesMax: 1000 }).map((e) => e.key)).toEqual(['big', 'a']);
    expect(q.take({ ...unlimited, bytesMax: 50 })).toHaveLength(0);
  });

  it('drops the least valuable update when full, and counts it', () => {
    const q = new GossipQueue(3, flat);
    q.enqueue(dead('d'), GossipPriority.Critical);
    q.enqueue(alive('l1'), GossipPriority.Low);
    q.enqueue(alive('l2'), GossipPriority.Low);
    q.enqueue(alive('m'), GossipPriority.Medium);
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(1);
    expect(q.has('l1')).toBe(false);
    expect(q.has('l2')).toBe(true);
  });

  it('keeps its invariants under random use', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('enqueue' as const), node: fc.integer({ min: 0, max: 12 }), priority: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('take' as const), count: fc.integer({ min: 0, max: 5 }), bytes: fc.integer({ min: 0, max: 500 }) }),
      fc.record({ kind: fc.constant('remove' as const), node: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new GossipQueue(8, flat);
        const sent = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'enqueue') {
            q.enqueue(alive(`n${o.node}`), o.priority as GossipPriority);
            sent.set(`n${o.node}`, 0);
          } else if (o.kind === 'remove') q.remove(`n${o.node}`);
          else {
            const picked = q.take({ transmitLimit: 4, countMax: o.count, bytesMax: o.bytes });
            expect(picked.length).toBeLessThanOrEqual(o.count);
            expect(picked.length * 100).toBeLessThanOrEqual(o.bytes);
            expect(new Set(picked.map((p) => p.key)).size).toBe(picked.length);
            for (const p of picked) {
              const n = (sent.get(p.key) ?? 0) + 1;
              sent.set(p.key, n);
              expect(n).toBeLessThanOrEqual(4);
            }
            // Priorities come out in non-increasing order.
            for (let i = 1; i < picked.length; i++) expect(picked[i]!.priority).toBeLessThanOrEqual(picked[i - 1]!.priority);
          }
          expect(q.size).toBeLessThanOrEqual(8);
          expect(q.entries()).toHaveLength(q.size);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('picks exactly what the reference Map-per-bucket queue picks', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('enqueue' as const), node: fc.integer({ min: 0, max: 15 }), priority: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 10, max: 200 }) }),
      fc.record({
        kind: fc.constant('take' as const),
        count: fc.integer({ min: 0, max: 6 }),
        bytes: fc.integer({ min: 0, max: 600 }),
        limit: fc.integer({ min: 1, max: 5 }),
        exclude: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 2 }),
      }),
      fc.record({ kind: fc.constant('remove' as const), node: fc.integer({ min: 0, max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const sizes = new Map<string, number>();
        const sizeOf = (u: GossipUpdate): number => sizes.get(u.node) ?? 0;
        const q = new GossipQueue(10, sizeOf);
        const ref = new ReferenceGossipQueue(10, sizeOf);
        const view = (entries: readonly QueuedUpdate[]): string[] => entries.map((e) => `${e.key}/${e.priority}/${e.transmits}`);
        for (const o of ops) {
          if (o.kind === 'enqueue') {
            sizes.set(`n${o.node}`, o.size);
            q.enqueue(alive(`n${o.node}`), o.priority as GossipPriority);
            ref.enqueue(alive(`n${o.node}`), o.priority as GossipPriority);
          } else if (o.kind === 'remove') expect(q.remove(`n${o.node}`)).toBe(ref.remove(`n${o.node}`));
          else {
            const limits = { transmitLimit: o.limit, countMax: o.count, bytesMax: o.bytes, excludeKeys: o.exclude.map((n) => `n${n}`) };
            expect(view(q.take(limits))).toEqual(view(ref.take(limits)));
          }
          expect(view(q.entries())).toEqual(view(ref.entries()));
          expect(q.dropped).toBe(ref.dropped);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

