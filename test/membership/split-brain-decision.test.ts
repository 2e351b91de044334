import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareClusters, shouldMerge } from '../../src/membership/split-brain-decision.js';
import type { ClusterSummary } from '../../src/protocol/messages.js';

function summary(masterId: string, memberCount: number, masterJoinVersion: number, clusterId = 'c'): ClusterSummary {
  return { clusterId, masterId, masterAddress: `${masterId}:7946`, masterJoinVersion, memberCount, viewVersion: 1 };
}

describe('shouldMerge', () => {
  const cases: [string, ClusterSummary, ClusterSummary, boolean][] = [
    ['smaller merges into larger', summary('a', 2, 1), summary('b', 3, 9), true],
    ['larger stays', summary('b', 3, 9), summary('a', 2, 1), false],
    ['tie: younger master merges', summary('b', 2, 5), summary('a', 2, 3), true],
    ['tie: older master stays', summary('a', 2, 3), summary('b', 2, 5), false],
    ['tie on size and join version: higher node id merges', summary('b', 2, 3), summary('a', 2, 3), true],
    ['tie on size and join version: lower node id stays', summary('a', 2, 3), summary('b', 2, 3), false],
    ['same master: one cluster', summary('a', 2, 3), summary('a', 3, 3), false],
    ['another cluster id: never', summary('a', 1, 3), summary('b', 5, 1, 'other'), false],
  ];
  it.each(cases)('%s', (_name, local, remote, expected) => {
    expect(shouldMerge(local, remote)).toBe(expected);
  });

  it('exactly one of two distinct clusters merges (both sides decide alike)', () => {
    const arb = fc.record({ masterId: fc.constantFrom('n1', 'n2', 'n3', 'n4'), memberCount: fc.integer({ min: 1, max: 5 }), joinVersion: fc.integer({ min: 1, max: 4 }) });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const a = summary(x.masterId, x.memberCount, x.joinVersion);
        const b = summary(y.masterId, y.memberCount, y.joinVersion);
        if (a.masterId === b.masterId) return compareClusters(a, b) === 0 && !shouldMerge(a, b) && !shouldMerge(b, a);
        return shouldMerge(a, b) !== shouldMerge(b, a) && Math.sign(compareClusters(a, b)) === -Math.sign(compareClusters(b, a));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
