import { describe, expect, it } from 'vitest';
import { addr, Harness } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

function joined(seed: number, options = {}): Harness {
  const h = new Harness(seed);
  h.cluster(names, options);
  expect(h.runUntilTrue(() => names.every((o) => names.every((s) => h.stateOf(o, s) === 'alive')), 10_000)).toBe(true);
  h.runFor(2_000);
  return h;
}

describe('SwimMachine: dissemination', () => {
  it('gossips to recently dead members for gossipToTheDeadMs, then stops', () => {
    const h = joined(91);
    h.stall('n3');
    expect(h.runUntilTrue(() => names.filter((n) => n !== 'n3').every((o) => h.stateOf(o, 'n3') === 'dead'), 60_000)).toBe(true);
    const deadAt = h.now;
    // Something to say: a tag change now, and another after the window.
    h.act('n1', (m) => m.updateTag('round', '1'));
    h.runFor(5_000);
    const early = h.sent.filter((p) => p.at > deadAt && p.to === addr('n3') && p.message.type === 'Gossip');
    expect(early.length).toBeGreaterThan(0);
    h.runUntil(deadAt + h.node('n1').config.gossipToTheDeadMs + 1_000);
    const windowEnd = h.now;
    h.act('n1', (m) => m.updateTag('round', '2'));
    h.act('n2', (m) => m.updateTag('round', '2'));
    h.runFor(5_000);
    expect(h.sent.filter((p) => p.at > windowEnd && p.to === addr('n3') && p.message.type === 'Gossip')).toEqual([]);
  });

  it('runs push-pull anti-entropy about every pushPullIntervalMs per node', () => {
    const h = joined(92);
    const start = h.now;
    h.runFor(300_000);
    const pushes = h.sent.filter((p) => p.at > start && p.message.type === 'PushPull' && !p.message.reply && !p.message.join);
    // 5 nodes x 300 s / 30 s = 50 exchanges (reconnect rounds have no failed member to try).
    expect(pushes.length).toBeGreaterThanOrEqual(45);
    expect(pushes.length).toBeLessThanOrEqual(55);
    expect(pushes.every((p) => p.channel === 'tcp')).toBe(true);
  });

  it('heals a member that missed every gossip through push-pull', () => {
    const h = joined(93);
    // n5 hears no datagrams (nor views, which carry tags too), so it misses n2's tag change...
    h.drop = (p) => p.to === addr('n5') && (p.channel === 'udp' || p.message.type === 'MembersUpdate');
    h.act('n2', (m) => m.updateTag('v', '2'));
    h.runFor(3_000);
    expect(h.node('n5').member('n2')?.tags['v']).toBeUndefined();
    // ...but TCP push-pull still gets it there.
    expect(h.runUntilTrue(() => h.node('n5').member('n2')?.tags['v'] === '2', 90_000)).toBe(true);
  });

  it('drops the oldest events when nobody drains them, and counts it', () => {
    const h = new Harness(94);
    h.cluster(names, { config: { eventQueueMax: 2 } });
    h.runFor(5_000);
    // The harness drains after every step, so overflow only shows with a burst in one step.
    const m = h.node('n1');
    for (let i = 0; i < 5; i++) m.updateTag('k', String(i));
    expect(m.stats().eventsDropped).toBeGreaterThan(0);
  });
});
