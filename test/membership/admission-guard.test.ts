// The admission guard strips Alive claims about nodes that were never admitted, and
// leaves everything about known, viewed or freshly verified nodes untouched.
import { describe, expect, it } from 'vitest';
import type { Alive, Message, PushPullEntry } from '../../src/protocol/messages.js';
import { AdmissionGuard } from '../../src/membership/admission-guard.js';

const alive = (node: string): Alive => ({ type: 'Alive', node, incarnation: 1, address: `${node}:1`, tags: {} });
const entry = (nodeId: string): PushPullEntry => ({ nodeId, address: `${nodeId}:1`, incarnation: 1, state: 'alive', tags: {} });
const known = (id: string): boolean => id === 'member';

function guard(): AdmissionGuard {
  return new AdmissionGuard({ verifiedTtlMs: 1_000, verifiedMax: 2, rosterMax: 2 });
}

describe('AdmissionGuard', () => {
  it.each<[string, Message, Message]>([
    ['an Alive about a stranger', alive('stranger'), { type: 'Gossip', from: 'stranger', updates: [] }],
    ['a Gossip naming a stranger', { type: 'Gossip', from: 'member', updates: [alive('stranger'), alive('member')] }, { type: 'Gossip', from: 'member', updates: [alive('member')] }],
    ['a Ping naming a stranger', { type: 'Ping', seqNo: 1, from: 'x', target: 'me', updates: [alive('stranger')] }, { type: 'Ping', seqNo: 1, from: 'x', target: 'me', updates: [] }],
    [
      'a PushPull listing a stranger',
      { type: 'PushPull', from: 'stranger', join: true, reply: false, clusterId: 'c', states: [entry('stranger'), entry('member')] },
      { type: 'PushPull', from: 'stranger', join: true, reply: false, clusterId: 'c', states: [entry('member')] },
    ],
  ])('strips %s', (_name, input, output) => {
    const g = guard();
    expect(g.filter(input, 0, known)).toEqual(output);
    expect(g.rejected).toBe(1);
  });

  it('returns the same message when everything in it is admitted', () => {
    const g = guard();
    const message: Message = { type: 'Gossip', from: 'member', updates: [alive('member'), { type: 'Suspect', node: 'stranger', incarnation: 1, from: 'member' }] };
    expect(g.filter(message, 0, known)).toBe(message);
    expect(g.rejected).toBe(0);
  });

  it('admits nodes seen in a members view, and remembers a bounded roster', () => {
    const g = guard();
    const record = (nodeId: string) => ({ nodeId, address: `${nodeId}:1`, joinVersion: 1, status: 'active' as const, incarnation: 1, tags: {} });
    g.noteView({ version: 1, members: [record('a'), record('b')] });
    expect(g.admits('a', 0, known)).toBe(true);
    g.noteView({ version: 2, members: [record('c')] });
    expect(g.admits('a', 0, known)).toBe(false);
    expect(g.admits('b', 0, known)).toBe(true);
    expect(g.admits('c', 0, known)).toBe(true);
  });

  it('admits a node this master verified until the window closes', () => {
    const g = guard();
    g.noteVerified('joiner', 100);
    expect(g.admits('joiner', 1_099, known)).toBe(true);
    expect(g.admits('joiner', 1_100, known)).toBe(false);
    expect(g.admits('joiner', 500, known)).toBe(false);
  });

  it('forgets the oldest verified node beyond its bound', () => {
    const g = guard();
    g.noteVerified('one', 0);
    g.noteVerified('two', 0);
    g.noteVerified('three', 0);
    expect(['one', 'two', 'three'].map((id) => g.admits(id, 1, known))).toEqual([false, true, true]);
  });
});
