// Rebalance planning: the exact moves for hand-picked transitions (one per kind), the
// empty plan for equal assignments, and the property that applying a plan to the
// current assignment yields the target.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyMoves,
  computeAssignment,
  NO_OWNER,
  planRebalance,
  type RebalanceMove,
  type ReplicaAssignment,
} from '../../src/partitions/index.js';
import { members } from './fixtures.js';

const entry = (owner: string, ...backups: string[]): ReplicaAssignment => ({ partition: 0, owner, backups });

/** The interesting fields of a move, in one line. */
const brief = (m: RebalanceMove): string =>
  `${m.replicaIndex}:${m.source ?? '-'}>${m.destination ?? '-'} ${m.kind}${m.needsData ? ` data<${m.dataSource ?? '-'}` : ''}${m.releasesSource ? ' release' : ''}`;

describe('planRebalance', () => {
  it.each([
    { name: 'equal', from: entry('a', 'b'), to: entry('a', 'b'), moves: [] },
    { name: 'new backup', from: entry('a'), to: entry('a', 'b'), moves: ['1:->b copy data<a'] },
    { name: 'backup replaced', from: entry('a', 'b'), to: entry('a', 'c'), moves: ['1:b>c move data<a release'] },
    { name: 'backup dropped', from: entry('a', 'b', 'c'), to: entry('a', 'b'), moves: ['2:c>- drop release'] },
    { name: 'owner replaced, backup kept', from: entry('a', 'b'), to: entry('c', 'b'), moves: ['0:a>c move data<a release'] },
    { name: 'backup promoted, owner leaves', from: entry('a', 'b'), to: entry('b'), moves: ['0:a>b promote release', '1:b>- vacate'] },
    {
      name: 'backup promoted, new backup',
      from: entry('a', 'b'),
      to: entry('b', 'c'),
      moves: ['0:a>b promote release', '1:b>c copy data<a'],
    },
    { name: 'owner and backup swap', from: entry('a', 'b'), to: entry('b', 'a'), moves: ['0:a>b promote', '1:b>a demote'] },
    { name: 'backups change order', from: entry('a', 'b', 'c'), to: entry('a', 'c', 'b'), moves: ['1:b>c shift', '2:c>b shift'] },
    { name: 'new owner, old owner demoted', from: entry('a'), to: entry('c', 'a'), moves: ['0:a>c copy data<a', '1:->a demote'] },
    { name: 'from no owner', from: entry(NO_OWNER), to: entry('a', 'b'), moves: ['0:->a copy data<-', '1:->b copy data<-'] },
  ])('$name', ({ from, to, moves }) => {
    expect(planRebalance([from], [to]).map(brief)).toEqual(moves);
    expect(applyMoves([from], planRebalance([from], [to]))).toEqual([to]);
  });

  it('is empty for equal tables and sorted by partition then replica index', () => {
    const a = computeAssignment(members(4), 64, 2);
    expect(planRebalance(a, a)).toEqual([]);
    const b = computeAssignment(members(6), 64, 2, a);
    const plan = planRebalance(a, b);
    const keys = plan.map((m) => m.partition * 10 + m.replicaIndex);
    expect(keys).toEqual([...keys].sort((x, y) => x - y));
    expect(applyMoves(a, plan)).toEqual(b);
  });

  it('accepts a partition table data form on either side', () => {
    const a = computeAssignment(members(3), 16, 1);
    const b = computeAssignment(members(4), 16, 1, a);
    const data = { version: 1, partitionCount: 16, assignments: a.map((x) => ({ ...x, epoch: 1 })) };
    expect(planRebalance(data, b)).toEqual(planRebalance(a, b));
  });

  it('plans the same for entries in any order as for entries by partition (property)', () => {
    const shuffled = <T>(items: readonly T[], keys: readonly number[]): T[] =>
      items.map((item, i) => ({ item, key: keys[i % keys.length]! })).sort((x, y) => x.key - y.key).map((x) => x.item);
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer(), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 39 }),
        (n, partitionCount, keys, dropAt) => {
          const current = computeAssignment(members(n), partitionCount, 1);
          const target = computeAssignment(members(n + 1), partitionCount, 1, current);
          const dense = planRebalance(current, target);
          expect(planRebalance([...current].reverse(), target)).toEqual(dense);
          expect(planRebalance(shuffled(current, keys), shuffled(target, keys))).toEqual(dense);
          // A partition missing on one side is planned against an empty replica set.
          const gap = dropAt % partitionCount;
          const withGap = planRebalance(current.filter((a) => a.partition !== gap), target);
          expect(withGap.filter((m) => m.partition !== gap)).toEqual(dense.filter((m) => m.partition !== gap));
          const slots = 1 + target[gap]!.backups.length;
          expect(withGap.filter((m) => m.partition === gap).map((m) => m.source)).toEqual(new Array(slots).fill(undefined));
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('applying the plan to the current assignment yields the target (property)', () => {
    const pool = ['a', 'b', 'c', 'd', 'e', 'f'];
    const replicaSet = fc
      .shuffledSubarray(pool, { minLength: 1, maxLength: 4 })
      .map(([owner, ...backups]): [string, string[]] => [owner!, backups]);
    const table = (size: number): fc.Arbitrary<ReplicaAssignment[]> =>
      fc.array(replicaSet, { minLength: size, maxLength: size }).map((sets) => sets.map(([owner, backups], partition) => ({ partition, owner, backups })));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((size) => fc.tuple(table(size), table(size))),
        ([current, target]) => {
          const plan = planRebalance(current, target);
          expect(applyMoves(current, plan)).toEqual(target);
          expect(plan.length === 0).toBe(JSON.stringify(current) === JSON.stringify(target));
          for (const move of plan) {
            const before = current[move.partition]!;
            const after = target[move.partition]!;
            const heldBefore = [before.owner, ...before.backups];
            const heldAfter = [after.owner, ...after.backups];
            expect(move.needsData).toBe(move.destination !== undefined && !heldBefore.includes(move.destination));
            expect(move.releasesSource).toBe(move.source !== undefined && !heldAfter.includes(move.source));
            if (move.needsData) expect(move.dataSource).toBe(before.owner);
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
