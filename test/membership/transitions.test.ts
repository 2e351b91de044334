import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import type { SwimState } from '../../src/core/model.js';
import { SwimMachine } from '../../src/membership/swim.js';
import type { GossipUpdate } from '../../src/protocol/messages.js';
import { admitJoiners } from './harness.js';

const T0 = 1_700_000_000_000;

/** A formed single-node cluster (its master) that knows `peer` in `state` at incarnation 10. */
function machineWithPeer(state: SwimState): SwimMachine {
  const m = new SwimMachine({ self: { nodeId: 'self', address: 'self:1', tags: {} }, clusterId: 'c', seeds: [], random: new SeededRandom(1), now: T0 });
  m.start(T0);
  // Admitted by this node as master, as a real joiner would be; 'remote' too, for push-pulls.
  admitJoiners(m, ['peer', 'remote'], T0, 'c');
  m.handle('peer:1', { type: 'Alive', node: 'peer', incarnation: 10, address: 'peer:1', tags: {} }, T0);
  if (state === 'suspect') m.handle('x:1', { type: 'Suspect', node: 'peer', incarnation: 10, from: 'x' }, T0);
  if (state === 'dead') m.handle('x:1', { type: 'Dead', node: 'peer', incarnation: 10, from: 'x', left: false }, T0);
  if (state === 'left') m.handle('x:1', { type: 'Dead', node: 'peer', incarnation: 10, from: 'peer', left: true }, T0);
  expect(m.member('peer')?.state).toBe(state);
  while (m.pollEvent() !== undefined);
  return m;
}

const alive = (incarnation: number): GossipUpdate => ({ type: 'Alive', node: 'peer', incarnation, address: 'peer:1', tags: {} });
const suspect = (incarnation: number): GossipUpdate => ({ type: 'Suspect', node: 'peer', incarnation, from: 'y' });
const dead = (incarnation: number, left = false): GossipUpdate => ({ type: 'Dead', node: 'peer', incarnation, from: 'y', left });

describe('state precedence: incarnation first, then alive < suspect < dead', () => {
  // [held state, update, expected state, expected incarnation]
  const cases: [SwimState, GossipUpdate, SwimState, number][] = [
    ['alive', alive(9), 'alive', 10],
    ['alive', alive(10), 'alive', 10],
    ['alive', alive(11), 'alive', 11],
    ['alive', suspect(9), 'alive', 10],
    ['alive', suspect(10), 'suspect', 10],
    ['alive', suspect(12), 'suspect', 12],
    ['alive', dead(9), 'alive', 10],
    ['alive', dead(10), 'dead', 10],
    ['alive', dead(10, true), 'left', 10],
    ['suspect', alive(10), 'suspect', 10],
    ['suspect', alive(11), 'alive', 11],
    ['suspect', suspect(10), 'suspect', 10],
    ['suspect', dead(10), 'dead', 10],
    ['dead', alive(10), 'dead', 10],
    ['dead', alive(11), 'alive', 11],
    ['dead', suspect(11), 'dead', 10],
    ['dead', dead(11, true), 'dead', 10],
    ['left', alive(10), 'left', 10],
    ['left', alive(11), 'alive', 11],
    ['left', dead(11), 'left', 10],
  ];
  it.each(cases)('%s + %o -> %s', (held, update, state, incarnation) => {
    const m = machineWithPeer(held);
    m.handle('y:1', update, T0 + 1);
    expect(m.member('peer')?.state).toBe(state);
    expect(m.member('peer')?.incarnation).toBe(incarnation);
  });

  const events: [SwimState, GossipUpdate, string[]][] = [
    ['alive', suspect(10), ['NodeSuspected']],
    ['alive', dead(10), ['NodeFailed']],
    ['alive', dead(10, true), ['NodeLeft']],
    ['suspect', alive(11), ['NodeRecovered']],
    ['dead', alive(11), ['NodeRecovered']],
    ['left', alive(11), ['NodeJoined']],
    ['alive', { type: 'Alive', node: 'peer', incarnation: 11, address: 'peer:1', tags: { a: 'b' } }, ['NodeTagsUpdated']],
    ['alive', alive(10), []],
  ];
  it.each(events)('%s + %o emits %o', (held, update, types) => {
    const m = machineWithPeer(held);
    m.handle('y:1', update, T0 + 1);
    const seen: string[] = [];
    for (let e = m.pollEvent(); e !== undefined; e = m.pollEvent()) if (e.type.startsWith('Node')) seen.push(e.type);
    expect(seen).toEqual(types);
  });
});

describe('claims about the node itself', () => {
  const cases: [string, (inc: number) => GossipUpdate, boolean][] = [
    ['a Suspect at its incarnation', (inc) => ({ type: 'Suspect', node: 'self', incarnation: inc, from: 'x' }), true],
    ['a Dead at its incarnation', (inc) => ({ type: 'Dead', node: 'self', incarnation: inc, from: 'x', left: false }), true],
    ['an Alive with other tags at its incarnation', (inc) => ({ type: 'Alive', node: 'self', incarnation: inc, address: 'self:1', tags: { x: 'y' } }), true],
    ['an Alive at a higher incarnation', (inc) => ({ type: 'Alive', node: 'self', incarnation: inc + 5, address: 'self:1', tags: {} }), true],
    ['a Suspect at an older incarnation', (inc) => ({ type: 'Suspect', node: 'self', incarnation: inc - 1, from: 'x' }), false],
    ['its own Alive echoed back', (inc) => ({ type: 'Alive', node: 'self', incarnation: inc, address: 'self:1', tags: {} }), false],
  ];
  it.each(cases)('%s -> refutes: %s', (_name, make, refutes) => {
    const m = machineWithPeer('alive');
    const inc = m.localState().incarnation;
    const update = make(inc);
    m.handle('x:1', update, T0 + 1);
    expect(m.localState().state).toBe('alive');
    expect(m.stats().refutations).toBe(refutes ? 1 : 0);
    if (refutes) expect(m.localState().incarnation).toBeGreaterThan(Math.max(inc, update.incarnation));
    else expect(m.localState().incarnation).toBe(inc);
  });
});

describe('push-pull merge', () => {
  it('follows the gossip rules, taking a remote death as a suspicion only', () => {
    const m = machineWithPeer('alive');
    m.handle('r:1', {
      type: 'PushPull',
      from: 'remote',
      join: false,
      reply: true,
      clusterId: 'c',
      states: [
        { nodeId: 'remote', address: 'r:1', incarnation: 3, state: 'alive', tags: {} },
        { nodeId: 'peer', address: 'peer:1', incarnation: 10, state: 'dead', tags: {} },
        { nodeId: 'gone', address: 'g:1', incarnation: 3, state: 'left', tags: {} },
      ],
    }, T0 + 1);
    expect(m.member('remote')?.state).toBe('alive');
    expect(m.member('peer')?.state).toBe('suspect');
    expect(m.member('gone')).toBeUndefined();
  });

  it('answers a push with its own state and ignores other clusters', () => {
    const m = machineWithPeer('alive');
    while (m.pollTransmit() !== undefined);
    m.handle('r:1', { type: 'PushPull', from: 'remote', join: false, reply: false, clusterId: 'other', states: [] }, T0 + 1);
    expect(m.pollTransmit()).toBeUndefined();
    m.handle('r:1', { type: 'PushPull', from: 'remote', join: false, reply: false, clusterId: 'c', states: [{ nodeId: 'remote', address: 'r:9', incarnation: 1, state: 'alive', tags: {} }] }, T0 + 1);
    const reply = m.pollTransmit();
    expect(reply?.to).toBe('r:9');
    expect(reply?.channel).toBe('tcp');
    expect(reply?.message.type === 'PushPull' && reply.message.reply).toBe(true);
  });
});
