// Members view: the master rule (oldest active member, ties by node id, non-active
// members skipped), ordering, validation, and the immutable update helpers.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import type { MemberRecord } from '../../src/core/model.js';
import { MembersView } from '../../src/partitions/index.js';
import { member } from './fixtures.js';

const view = (...records: MemberRecord[]): MembersView => new MembersView({ version: 1, members: records });

describe('MembersView master rule', () => {
  const cases: { name: string; records: MemberRecord[]; master: string | undefined }[] = [
    { name: 'empty view', records: [], master: undefined },
    { name: 'lowest joinVersion wins', records: [member('c', 3), member('a', 2), member('b', 1)], master: 'b' },
    { name: 'tie broken by the smaller node id', records: [member('node-b', 1), member('node-a', 1), member('node-c', 0, 'dead')], master: 'node-a' },
    { name: 'plain string order, not locale order (uppercase sorts first)', records: [member('b', 1), member('B', 1)], master: 'B' },
    { name: 'plain string order, not numeric ("n10" < "n9")', records: [member('n9', 4), member('n10', 4)], master: 'n10' },
    { name: 'suspect oldest skipped', records: [member('a', 0, 'suspect'), member('b', 1)], master: 'b' },
    { name: 'leaving oldest skipped', records: [member('a', 0, 'leaving'), member('b', 1)], master: 'b' },
    { name: 'dead oldest skipped', records: [member('a', 0, 'dead'), member('b', 5), member('c', 4)], master: 'c' },
    { name: 'no active member', records: [member('a', 0, 'dead'), member('b', 1, 'suspect')], master: undefined },
  ];
  it.each(cases)('$name', ({ records, master }) => {
    const v = view(...records);
    expect(v.master()?.nodeId).toBe(master);
    for (const r of records) expect(v.isMaster(r.nodeId)).toBe(r.nodeId === master);
  });

  it('does not depend on input order', () => {
    const records = [member('d', 2), member('b', 1), member('a', 1), member('c', 0, 'dead')];
    const reversed = [...records].reverse();
    expect(view(...records).master()).toEqual(view(...reversed).master());
    expect(view(...records).toData()).toEqual(view(...reversed).toData());
  });
});

describe('MembersView queries', () => {
  const v = view(member('c', 2), member('a', 1, 'dead'), member('b', 1), member('d', 0, 'leaving'));

  it('lists active members by joinVersion then node id', () => {
    expect(v.activeMembers().map((m) => m.nodeId)).toEqual(['b', 'c']);
    expect(v.members().map((m) => m.nodeId)).toEqual(['d', 'a', 'b', 'c']);
  });

  it('looks members up by id whatever their status', () => {
    expect(v.member('a')?.status).toBe('dead');
    expect(v.member('zz')).toBeUndefined();
    expect(v.has('d')).toBe(true);
    expect(v.size).toBe(4);
  });

  it('round-trips through its data form', () => {
    const again = new MembersView(v.toData());
    expect(again.toData()).toEqual(v.toData());
    expect(again.version).toBe(1);
  });

  it('holds frozen copies: editing the input afterwards changes nothing', () => {
    const tags: Record<string, string> = { zone: 'z1' };
    const input: { -readonly [K in keyof MemberRecord]: MemberRecord[K] } = { ...member('a', 0), tags };
    const copied = new MembersView({ version: 1, members: [input, { ...member('b', 1), clientAddress: 'b.example:443' }] });
    input.status = 'dead';
    tags.zone = 'z2';
    const a = copied.member('a')!;
    expect(a).toStrictEqual({ nodeId: 'a', address: 'a.local:7000', joinVersion: 0, status: 'active', incarnation: 1, tags: { zone: 'z1' } });
    expect(Object.isFrozen(a) && Object.isFrozen(a.tags)).toBe(true);
    expect(copied.member('b')?.clientAddress).toBe('b.example:443');
    expect(copied.master()?.nodeId).toBe('a');
  });

  it('shares tags that are already frozen, since nothing can change them', () => {
    const tags = Object.freeze({ zone: 'z1' });
    const shared = new MembersView({ version: 1, members: [member('a', 0, 'active', tags)] });
    expect(shared.member('a')!.tags).toBe(tags);
    expect(new MembersView(shared.toData()).member('a')!.tags).toBe(tags);
    // A record without tags (malformed input) still gets an empty frozen map of its own.
    const untagged = new MembersView({ version: 1, members: [{ ...member('b', 0), tags: undefined as unknown as Record<string, string> }] });
    expect(untagged.member('b')!.tags).toEqual({});
    expect(Object.isFrozen(untagged.member('b')!.tags)).toBe(true);
  });

  it('gives the next join version above every member', () => {
    expect(v.nextJoinVersion()).toBe(3);
    expect(MembersView.empty().nextJoinVersion()).toBe(0);
  });
});

describe('MembersView validation', () => {
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return isFlotillaError(err) ? err.code : 'other';
    }
    return undefined;
  };

  it.each([
    { name: 'duplicate node id', data: { version: 1, members: [member('a', 0), member('a', 1)] } },
    { name: 'negative version', data: { version: -1, members: [] } },
    { name: 'fractional joinVersion', data: { version: 0, members: [member('a', 0.5)] } },
    { name: 'empty node id', data: { version: 0, members: [member('', 0)] } },
    { name: 'unknown status', data: { version: 0, members: [{ ...member('a', 0), status: 'zombie' as 'dead' }] } },
  ])('rejects $name with FLO_INVALID_ARGUMENT', ({ data }) => {
    expect(codeOf(() => new MembersView(data))).toBe('FLO_INVALID_ARGUMENT');
  });
});

describe('MembersView updates', () => {
  const base = view(member('a', 0), member('b', 1));

  it('withMember adds or replaces a member and raises the version', () => {
    const added = base.withMember(member('c', 2));
    expect(added.version).toBe(2);
    expect(added.activeMembers().map((m) => m.nodeId)).toEqual(['a', 'b', 'c']);
    const replaced = added.withMember({ ...member('c', 2), tags: { zone: 'z1' } });
    expect(replaced.version).toBe(3);
    expect(replaced.member('c')?.tags).toEqual({ zone: 'z1' });
    expect(replaced.size).toBe(3);
    expect(base.size).toBe(2);
  });

  it('withStatus moves mastership when the master stops being active', () => {
    const next = base.withStatus('a', 'suspect');
    expect(next.version).toBe(2);
    expect(next.master()?.nodeId).toBe('b');
    expect(base.master()?.nodeId).toBe('a');
    expect(next.withStatus('a', 'active').master()?.nodeId).toBe('a');
  });

  it('withStatus returns the same view when nothing changes, and refuses unknown nodes', () => {
    expect(base.withStatus('a', 'active')).toBe(base);
    expect(() => base.withStatus('zz', 'dead')).toThrow(/not a member/);
  });

  it('without removes a member and raises the version; unknown ids are a no-op', () => {
    const next = base.without('a');
    expect(next.version).toBe(2);
    expect(next.has('a')).toBe(false);
    expect(next.master()?.nodeId).toBe('b');
    expect(base.without('zz')).toBe(base);
  });

  it('rejects a duplicate id on construction but not through withMember', () => {
    expect(() => base.withMember(member('a', 7))).not.toThrow();
    expect(base.withMember(member('a', 7)).member('a')?.joinVersion).toBe(7);
  });
});
