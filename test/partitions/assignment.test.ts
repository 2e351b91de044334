// Assignment: determinism, balance (owners and backup slots), distinct replicas, zones,
// minimal movement on join and leave, failover promotion of the first backup, and a
// churn property that checks all of it over random membership histories.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { SeededRandom, shuffleInPlace } from '../../src/core/random.js';
import { computeAssignment, type ReplicaAssignment } from '../../src/partitions/index.js';
import { expectBalanced, expectWellFormed, loads, member, members, ownersMoved } from './fixtures.js';

const ids = (ms: readonly { nodeId: string }[]): string[] => ms.map((m) => m.nodeId);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'other';
  }
  return undefined;
}

describe('computeAssignment from scratch', () => {
  it('splits 271 partitions over 3 members as 90/91/90 with one backup each', () => {
    const ms = members(3);
    const result = computeAssignment(ms, 271, 1);
    const { owned, backups } = loads(result, ids(ms));
    expect([...owned.values()].sort()).toEqual([90, 90, 91]);
    expect([...backups.values()].sort()).toEqual([90, 90, 91]);
    // The extra partition goes to the lowest-ranked member (n000), deterministically.
    expect(owned.get('n000')).toBe(91);
    expectWellFormed(result, 271, ids(ms), 1);
  });

  it.each([
    [271, 1, 0],
    [271, 1, 3],
    [271, 2, 1],
    [271, 3, 2],
    [271, 4, 3],
    [271, 5, 2],
    [271, 7, 1],
    [64, 10, 2],
    [13, 5, 4],
    [7, 9, 1],
    [2048, 100, 1],
    [2048, 1000, 2],
  ])('P=%i N=%i B=%i: every partition owned, replicas distinct, balanced', (p, n, b) => {
    const ms = members(n);
    const result = computeAssignment(ms, p, b);
    const effective = Math.min(b, n - 1);
    expectWellFormed(result, p, ids(ms), effective);
    expectBalanced(result, p, ids(ms), effective);
  });

  it('gives a single member every partition and no backups', () => {
    const result = computeAssignment([{ nodeId: 'solo' }], 271, 2);
    expect(result.every((a) => a.owner === 'solo' && a.backups.length === 0)).toBe(true);
    expect(result).toHaveLength(271);
  });

  it('does not depend on the order of its input', () => {
    const random = new SeededRandom(42);
    for (const [p, n, b] of [
      [271, 5, 1],
      [271, 8, 2],
      [97, 12, 3],
    ] as const) {
      const ms = members(n, 3);
      const expected = computeAssignment(ms, p, b);
      for (let i = 0; i < 5; i++) {
        expect(computeAssignment(shuffleInPlace([...ms], random), p, b)).toEqual(expected);
      }
      const previous = computeAssignment(members(n - 1, 3), p, b);
      const withPrevious = computeAssignment(ms, p, b, previous);
      expect(computeAssignment(shuffleInPlace([...ms], random), p, b, shuffleInPlace([...previous], random))).toEqual(withPrevious);
    }
  });

  it('uses only active members when statuses are given', () => {
    const records = [member('a', 0), member('b', 1, 'suspect'), member('c', 2), member('d', 3, 'dead'), member('e', 4, 'leaving')];
    const result = computeAssignment(records, 271, 1);
    const used = new Set(result.flatMap((a) => [a.owner, ...a.backups]));
    expect([...used].sort()).toEqual(['a', 'c']);
  });

  it('refuses zero members, and members of which none is active, with FLO_ASSIGNMENT_INVALID', () => {
    expect(codeOf(() => computeAssignment([], 271, 1))).toBe('FLO_ASSIGNMENT_INVALID');
    expect(codeOf(() => computeAssignment([member('a', 0, 'dead')], 271, 1))).toBe('FLO_ASSIGNMENT_INVALID');
  });

  it.each([
    { name: 'zero partitions', run: () => computeAssignment(members(2), 0, 1), code: 'FLO_INVALID_ARGUMENT' },
    { name: 'negative backups', run: () => computeAssignment(members(2), 7, -1), code: 'FLO_INVALID_ARGUMENT' },
    { name: 'duplicate node ids', run: () => computeAssignment([{ nodeId: 'a' }, { nodeId: 'a' }], 7, 1), code: 'FLO_INVALID_ARGUMENT' },
    { name: 'empty node id', run: () => computeAssignment([{ nodeId: '' }], 7, 1), code: 'FLO_INVALID_ARGUMENT' },
    {
      name: 'previous partition out of range',
      run: () => computeAssignment(members(2), 7, 1, [{ partition: 7, owner: 'n000', backups: [] }]),
      code: 'FLO_ASSIGNMENT_INVALID',
    },
    {
      name: 'previous partition listed twice',
      run: () =>
        computeAssignment(members(2), 7, 1, [
          { partition: 1, owner: 'n000', backups: [] },
          { partition: 1, owner: 'n001', backups: [] },
        ]),
      code: 'FLO_ASSIGNMENT_INVALID',
    },
  ])('rejects $name', ({ run, code }) => {
    expect(codeOf(run)).toBe(code);
  });
});

describe('computeAssignment zones', () => {
  const zoneOf = (ms: readonly { nodeId: string; tags: Record<string, string> }[]): Map<string, string> =>
    new Map(ms.map((m) => [m.nodeId, m.tags['zone'] ?? '']));

  it('puts owner and two backups in three different zones (3 zones x 2 members)', () => {
    const ms = members(6, 3);
    const zone = zoneOf(ms);
    const result = computeAssignment(ms, 271, 2);
    for (const a of result) expect(new Set([a.owner, ...a.backups].map((id) => zone.get(id))).size).toBe(3);
    expectBalanced(result, 271, ids(ms), 2);
  });

  it('puts the backup in the other zone (2 zones x 3 members)', () => {
    const ms = members(6, 2);
    const zone = zoneOf(ms);
    const result = computeAssignment(ms, 271, 1);
    for (const a of result) expect(zone.get(a.backups[0]!)).not.toBe(zone.get(a.owner));
    expectBalanced(result, 271, ids(ms), 1);
  });

  it('separates zones as well as the counts allow while members join one at a time', () => {
    let previous: ReplicaAssignment[] | undefined;
    for (let n = 2; n <= 10; n++) {
      const ms = members(n, 2);
      const zone = zoneOf(ms);
      previous = computeAssignment(ms, 271, 1, previous);
      const clashes = previous.filter((a) => zone.get(a.backups[0]!) === zone.get(a.owner)).length;
      // A zone owning more partitions than other zones hold backups must back some up itself.
      const ownedIn = new Map<string, number>();
      const backedOutside = new Map<string, number>(['z0', 'z1'].map((z) => [z, 0]));
      for (const a of previous) {
        ownedIn.set(zone.get(a.owner)!, (ownedIn.get(zone.get(a.owner)!) ?? 0) + 1);
        for (const z of backedOutside.keys()) if (zone.get(a.backups[0]!) !== z) backedOutside.set(z, backedOutside.get(z)! + 1);
      }
      const unavoidable = [...ownedIn].reduce((sum, [z, owned]) => sum + Math.max(0, owned - backedOutside.get(z)!), 0);
      expect(clashes).toBe(unavoidable);
      if (n % 2 === 0) expect(clashes).toBeLessThanOrEqual(1);
      expectBalanced(previous, 271, ids(ms), 1);
    }
  });

  it('falls back to the same zone when there are fewer zones than replicas, staying balanced', () => {
    const ms = members(4, 2);
    const zone = zoneOf(ms);
    const result = computeAssignment(ms, 271, 3);
    expectWellFormed(result, 271, ids(ms), 3);
    for (const a of result) expect(new Set([a.owner, ...a.backups].map((id) => zone.get(id))).size).toBe(2);
  });

  it('stays balanced when zones are lopsided (1 member in one zone, 4 in the other)', () => {
    const ms = [...members(4, 0, 'a').map((m) => ({ ...m, tags: { zone: 'big' } })), { nodeId: 'lonely', tags: { zone: 'small' } }];
    const result = computeAssignment(ms, 271, 1);
    expectBalanced(result, 271, ids(ms), 1);
  });

  it('treats untagged members as one zone, the same as no zones at all', () => {
    const tagged = members(5);
    expect(computeAssignment(tagged, 271, 2)).toEqual(computeAssignment(ids(tagged).map((nodeId) => ({ nodeId })), 271, 2));
  });
});

describe('computeAssignment minimal movement', () => {
  it('moves about a quarter of the owners when a 4th member joins 3', () => {
    const before = computeAssignment(members(3), 271, 1);
    const after = computeAssignment(members(4), 271, 1, before);
    const moved = ownersMoved(before, after);
    // Only the joiner gains partitions, and it gains exactly its quota (67 or 68): no slack needed.
    expect(moved).toBeGreaterThanOrEqual(Math.floor(271 / 4));
    expect(moved).toBeLessThanOrEqual(Math.ceil(271 / 4));
    expect(after.filter((a, p) => a.owner !== before[p]!.owner).every((a) => a.owner === 'n003')).toBe(true);
    // Backups: the joiner takes its backup quota; every other kept backup stays.
    const backupSlotsMoved = after.filter((a, p) => a.backups.join() !== before[p]!.backups.join()).length;
    expect(backupSlotsMoved).toBeLessThanOrEqual(Math.ceil(271 / 4));
    expectBalanced(after, 271, ids(members(4)), 1);
  });

  it.each([
    [271, 5, 1],
    [271, 9, 2],
    [2048, 40, 1],
    [64, 3, 2],
  ])('P=%i: a member joining N=%i (B=%i) moves only the joiner\'s quota of owners', (p, n, b) => {
    const before = computeAssignment(members(n), p, b);
    const after = computeAssignment(members(n + 1), p, b, before);
    expect(ownersMoved(before, after)).toBeLessThanOrEqual(Math.ceil(p / (n + 1)));
    expectBalanced(after, p, ids(members(n + 1)), Math.min(b, n));
  });

  it.each([
    [271, 4, 1, 'n001'],
    [271, 6, 2, 'n003'],
    [271, 3, 1, 'n000'],
    [2048, 50, 1, 'n017'],
  ])('P=%i N=%i B=%i: removing %s moves only the partitions it held', (p, n, b, gone) => {
    const ms = members(n);
    const before = computeAssignment(ms, p, b);
    const rest = ms.filter((m) => m.nodeId !== gone);
    const after = computeAssignment(rest, p, b, before);
    for (const a of after) {
      const old = before[a.partition]!;
      if (old.owner !== gone && !old.backups.includes(gone)) expect(a).toEqual(old);
      else if (old.owner !== gone) expect(a.owner).toBe(old.owner);
    }
    expectBalanced(after, p, ids(rest), Math.min(b, n - 2));
  });

  it.each([
    [271, 3, 1],
    [271, 4, 1],
    [271, 5, 2],
    [271, 8, 1],
    [2048, 20, 2],
  ])("P=%i N=%i B=%i: a dead owner's partitions go to their first backup as far as balance allows", (p, n, b) => {
    const ms = members(n);
    const before = computeAssignment(ms, p, b);
    for (const dead of ids(ms)) {
      const survivors = ms.filter((m) => m.nodeId !== dead);
      const after = computeAssignment(survivors, p, b, before);
      const orphaned = before.filter((a) => a.owner === dead);
      // Balance caps what each survivor can own: floor(P/(N-1)), plus one for the
      // (P mod (N-1)) survivors given the extras. Only the overflow may go elsewhere.
      const base = Math.floor(p / (n - 1));
      const overflow = ids(survivors).map((s) => {
        const owned = before.filter((a) => a.owner === s).length;
        const demand = orphaned.filter((a) => a.backups[0] === s).length;
        return Math.max(0, owned + demand - base);
      });
      const extras = Math.min(p % (n - 1), overflow.filter((o) => o > 0).length);
      const allowed = overflow.reduce((x, y) => x + y, 0) - extras;
      const elsewhere = orphaned.filter((a) => after[a.partition]!.owner !== a.backups[0]);
      expect(elsewhere.length).toBeLessThanOrEqual(allowed);
    }
  });

  it('promotes every first backup when the layout allows it (3 members, one dies)', () => {
    const ms = members(3);
    const before = computeAssignment(ms, 271, 1);
    for (const dead of ids(ms)) {
      const after = computeAssignment(
        ms.filter((m) => m.nodeId !== dead),
        271,
        1,
        before,
      );
      for (const a of before) if (a.owner === dead) expect(after[a.partition]!.owner).toBe(a.backups[0]);
    }
  });

  it('promotes another existing backup when the first one is full', () => {
    const ms = members(6);
    const before = computeAssignment(ms, 271, 2);
    const after = computeAssignment(
      ms.filter((m) => m.nodeId !== 'n002'),
      271,
      2,
      before,
    );
    for (const a of before) if (a.owner === 'n002') expect(a.backups).toContain(after[a.partition]!.owner);
  });

  it('spreads a member\'s first backups over all other members, so its failure spreads the load', () => {
    const ms = members(6);
    const result = computeAssignment(ms, 271, 1);
    const firstBackupsOfN000 = loads(
      result.filter((a) => a.owner === 'n000'),
      ids(ms),
    ).backups;
    for (const [node, count] of firstBackupsOfN000) if (node !== 'n000') expect(count).toBeGreaterThanOrEqual(Math.floor(46 / 5));
  });

  it('keeps existing backups, in order, when the backup count changes', () => {
    const ms = members(5);
    const two = computeAssignment(ms, 271, 2);
    const one = computeAssignment(ms, 271, 1, two);
    expect(one.every((a, p) => a.owner === two[p]!.owner && a.backups[0] === two[p]!.backups[0])).toBe(true);
    const three = computeAssignment(ms, 271, 3, two);
    expect(three.every((a, p) => a.owner === two[p]!.owner && a.backups.slice(0, 2).join() === two[p]!.backups.join())).toBe(true);
  });
});

describe('computeAssignment under churn (property)', () => {
  type Op = { kind: 'join'; zone: number } | { kind: 'leave'; pick: number };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('join' as const), zone: fc.nat(2) }),
    fc.record({ kind: fc.constant('leave' as const), pick: fc.nat(1000) }),
  );

  it('stays well formed, balanced, and stable (recomputing changes nothing) after every change', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(7, 13, 64, 271),
        fc.nat(3),
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        fc.array(op, { minLength: 1, maxLength: 8 }),
        (p, b, zoned, initial, ops: Op[]) => {
          let next = 0;
          const joiner = (zone: number): { nodeId: string; tags: Record<string, string> } => ({
            nodeId: `m${next++}`,
            tags: zoned ? { zone: `z${zone}` } : {},
          });
          let current = Array.from({ length: initial }, (_, i) => joiner(i % 3));
          let previous = computeAssignment(current, p, b);
          for (const o of ops) {
            if (o.kind === 'join' || current.length === 1) current = [...current, joiner(o.kind === 'join' ? o.zone : 0)];
            else current = current.filter((_, i) => i !== o.pick % current.length);
            const survivors = new Set(ids(current));
            const result = computeAssignment(current, p, b, previous);
            const effective = Math.min(b, current.length - 1);
            expectWellFormed(result, p, ids(current), effective);
            expectBalanced(result, p, ids(current), effective);
            // A surviving owner keeps its partition unless its member went over quota.
            const kept = result.filter((a, i) => a.owner === previous[i]!.owner).length;
            const keepable = previous.filter((a) => survivors.has(a.owner)).length;
            expect(kept).toBeGreaterThanOrEqual(Math.min(keepable, p - Math.ceil(p / current.length)));
            expect(JSON.stringify(computeAssignment(current, p, b, result))).toBe(JSON.stringify(result));
            previous = result;
          }
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});
