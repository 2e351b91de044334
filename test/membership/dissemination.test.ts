import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import type { MemberRecord } from '../../src/core/model.js';
import { SwimMachine } from '../../src/membership/swim.js';
import type { Message, PushPull, PushPullEntry } from '../../src/protocol/messages.js';
import { admitJoiners } from './harness.js';

const T0 = 1_700_000_000_000;

/** A machine that formed a cluster of its own (so it is joined and master) and admitted the others. */
function alone(): SwimMachine {
  const m = new SwimMachine({ self: { nodeId: 'a', address: 'a:1', tags: {} }, clusterId: 'c', seeds: [], random: new SeededRandom(1), now: T0 });
  m.start(T0);
  // Admitted as real joiners are, so rumours may introduce them.
  admitJoiners(m, ['b', 'c', 'j', 'x', 'y', 'z'], T0, 'c');
  drain(m);
  return m;
}

function drain(m: SwimMachine): Message[] {
  const out: Message[] = [];
  for (let t = m.pollTransmit(); t !== undefined; t = m.pollTransmit()) out.push(t.message);
  while (m.pollEvent() !== undefined);
  return out;
}

const entry = (nodeId: string, incarnation = 1, tags: Record<string, string> = {}): PushPullEntry => ({ nodeId, address: `${nodeId}:1`, incarnation, state: 'alive', tags });

function pushPull(from: string, states: PushPullEntry[], flags: { join: boolean; reply: boolean }): PushPull {
  return { type: 'PushPull', from, clusterId: 'c', states, ...flags };
}

describe('SwimMachine: what is re-gossiped', () => {
  it('does not re-gossip members it learns from the master\'s view, which every member receives', () => {
    const m = alone();
    const record = (nodeId: string, joinVersion: number): MemberRecord => ({ nodeId, address: `${nodeId}:1`, joinVersion, status: 'active', incarnation: 1, tags: {} });
    // Views are taken from a publisher in this node's view only: b admitted it first.
    m.handle('b:1', { type: 'JoinResponse', accepted: true, view: { version: 49, members: [record('a', 1), record('b', 2)] } }, T0 + 5);
    drain(m);
    const queued = m.stats().gossipQueued;
    m.handle('b:1', { type: 'MembersUpdate', view: { version: 50, members: [record('a', 1), record('b', 2), record('x', 3)] } }, T0 + 10);
    drain(m);
    expect(m.member('x')?.state).toBe('alive');
    expect(m.stats().gossipQueued).toBe(queued);
    // The same news by gossip is passed on.
    m.handle('b:1', { type: 'Gossip', from: 'b', updates: [{ type: 'Alive', node: 'y', incarnation: 1, address: 'y:1', tags: {} }] }, T0 + 20);
    expect(m.stats().gossipQueued).toBe(queued + 1);
  });

  it('a joiner does not re-gossip the cluster state it gets back from its join exchange', () => {
    const m = alone();
    const queued = m.stats().gossipQueued;
    m.handle('b:1', pushPull('b', [entry('b'), entry('x'), entry('y')], { join: true, reply: true }), T0 + 10);
    expect(m.member('y')?.state).toBe('alive');
    expect(m.stats().gossipQueued).toBe(queued);
    // A routine exchange is anti-entropy: what it teaches may be news to others too.
    m.handle('c:1', pushPull('c', [entry('c'), entry('z')], { join: false, reply: true }), T0 + 20);
    expect(m.stats().gossipQueued).toBe(queued + 2);
  });

  it('answers a join exchange as a join, and gossips the joiner', () => {
    const m = alone();
    const queued = m.stats().gossipQueued;
    m.handle('j:1', pushPull('j', [entry('j')], { join: true, reply: false }), T0 + 10);
    const reply = drain(m).find((msg): msg is PushPull => msg.type === 'PushPull');
    expect(reply).toMatchObject({ join: true, reply: true });
    expect(m.stats().gossipQueued).toBe(queued + 1);
  });

  it('sends its current member list in every exchange', () => {
    const m = alone();
    const replyTo = (from: string, at: number): readonly PushPullEntry[] => {
      m.handle(`${from}:1`, pushPull(from, [entry(from)], { join: false, reply: false }), at);
      return drain(m).find((msg): msg is PushPull => msg.type === 'PushPull')!.states;
    };
    // The answer goes out before the request's states are merged.
    expect(replyTo('b', T0 + 10).map((s) => s.nodeId)).toEqual(['a']);
    expect(replyTo('b', T0 + 20).map((s) => s.nodeId)).toEqual(['a', 'b']);
    expect(replyTo('b', T0 + 25).map((s) => s.nodeId)).toEqual(['a', 'b']);
    m.handle('b:1', { type: 'Alive', node: 'b', incarnation: 2, address: 'b:1', tags: { role: 'db' } }, T0 + 30);
    expect(replyTo('c', T0 + 40).find((s) => s.nodeId === 'b')).toMatchObject({ incarnation: 2, tags: { role: 'db' } });
    m.handle('c:1', { type: 'Dead', node: 'b', incarnation: 2, from: 'c', left: false }, T0 + 50);
    expect(replyTo('c', T0 + 60).find((s) => s.nodeId === 'b')?.state).toBe('dead');
    m.updateTag('zone', 'z1');
    expect(replyTo('c', T0 + 70)[0]).toMatchObject({ nodeId: 'a', tags: { zone: 'z1' } });
  });
});
