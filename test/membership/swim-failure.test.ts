import { describe, expect, it } from 'vitest';
import { Harness, addr } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
const others = (n: string): string[] => names.filter((x) => x !== n);

function converged(h: Harness, group: readonly string[] = names): boolean {
  return group.every((o) => group.every((s) => h.stateOf(o, s) === 'alive'));
}

function joined(seed: number): Harness {
  const h = new Harness(seed);
  h.cluster(names);
  expect(h.runUntilTrue(() => converged(h), 10_000)).toBe(true);
  h.runFor(2_000);
  return h;
}

describe('SwimMachine: failure detection', () => {
  it('a crashed node is suspected, then declared dead by every other node', () => {
    const h = joined(11);
    const crashedAt = h.now;
    h.crash('n3');
    const allSuspectOrDead = (): boolean => others('n3').every((o) => h.stateOf(o, 'n3') !== 'alive');
    expect(h.runUntilTrue(allSuspectOrDead, 15_000)).toBe(true);
    const allDead = (): boolean => others('n3').every((o) => h.stateOf(o, 'n3') === 'dead');
    expect(h.runUntilTrue(allDead, 60_000)).toBe(true);
    for (const o of others('n3')) {
      expect(h.eventsOf(o, 'NodeSuspected').some((e) => e.member.nodeId === 'n3')).toBe(true);
      expect(h.eventsOf(o, 'NodeFailed').map((e) => e.member.nodeId)).toEqual(['n3']);
      expect(h.eventsOf(o, 'NodeLeft')).toHaveLength(0);
    }
    // Lifeguard: the timeout is at least min = 4 s after the first suspicion.
    const firstSuspicion = Math.min(...others('n3').map((o) => h.eventsOf(o, 'NodeSuspected')[0]!.at));
    const firstDeath = Math.min(...others('n3').map((o) => h.eventsOf(o, 'NodeFailed')[0]!.at));
    expect(firstSuspicion).toBeGreaterThan(crashedAt);
    expect(firstDeath - firstSuspicion).toBeGreaterThanOrEqual(4_000);
    const declared = others('n3').reduce((sum, o) => sum + h.node(o).stats().deathsDeclared, 0);
    expect(declared).toBeGreaterThanOrEqual(1);
    const stats = h.node('n1').stats();
    expect(stats.members).toEqual({ alive: 4, suspect: 0, dead: 1, left: 0 });
    // Tombstones are reaped after tombstoneMs.
    h.runFor(h.node('n1').config.tombstoneMs + 1_000);
    expect(h.node('n1').member('n3')).toBeUndefined();
  });

  it('confirmations from several accusers shorten the suspicion timeout', () => {
    const h = joined(12);
    h.crash('n5');
    expect(h.runUntilTrue(() => others('n5').every((o) => h.stateOf(o, 'n5') === 'dead'), 60_000)).toBe(true);
    const suspectedAt = Math.min(...others('n5').map((o) => h.eventsOf(o, 'NodeSuspected')[0]!.at));
    const deadAt = Math.min(...others('n5').map((o) => h.eventsOf(o, 'NodeFailed')[0]!.at));
    // Without confirmations the first accuser would wait max = 6 x 4 s = 24 s.
    expect(deadAt - suspectedAt).toBeLessThan(24_000);
  });

  it('a suspected node refutes by raising its incarnation', () => {
    const h = joined(13);
    const before = h.node('n3').localState().incarnation;
    // n1 hears a (false) rumour that n3 is suspect.
    h.act('n1', (m, now) => m.handle(addr('n2'), { type: 'Suspect', node: 'n3', incarnation: before, from: 'n2' }, now));
    expect(h.stateOf('n1', 'n3')).toBe('suspect');
    expect(h.runUntilTrue(() => h.node('n3').stats().refutations > 0, 5_000)).toBe(true);
    expect(h.runUntilTrue(() => converged(h), 5_000)).toBe(true);
    expect(h.node('n3').localState().incarnation).toBeGreaterThan(before);
    expect(h.node('n1').stats().falseSuspicions).toBe(1);
    expect(h.eventsOf('n1', 'NodeRecovered').map((e) => e.member.nodeId)).toEqual(['n3']);
    h.runFor(30_000);
    for (const o of others('n3')) expect(h.eventsOf(o, 'NodeFailed')).toHaveLength(0);
  });

  it('a node cut off by lost packets is suspected and refutes once traffic flows again', () => {
    const h = joined(14);
    h.drop = (p) => p.to === addr('n4') || p.from === addr('n4');
    expect(h.runUntilTrue(() => others('n4').some((o) => h.stateOf(o, 'n4') === 'suspect'), 10_000)).toBe(true);
    h.heal();
    expect(h.runUntilTrue(() => converged(h), 10_000)).toBe(true);
    expect(h.node('n4').stats().refutations).toBeGreaterThan(0);
    for (const o of others('n4')) expect(h.eventsOf(o, 'NodeFailed')).toHaveLength(0);
  });

  it('a node stalled past the suspicion timeout is declared dead, then comes back at a higher incarnation', () => {
    const h = joined(15);
    const before = h.node('n2').localState().incarnation;
    h.stall('n2');
    expect(h.runUntilTrue(() => others('n2').every((o) => h.stateOf(o, 'n2') === 'dead'), 60_000)).toBe(true);
    h.resume('n2');
    expect(h.runUntilTrue(() => converged(h), 60_000)).toBe(true);
    expect(h.node('n2').localState().incarnation).toBeGreaterThan(before);
    for (const o of others('n2')) expect(h.eventsOf(o, 'NodeRecovered').some((e) => e.member.nodeId === 'n2' && e.previousState === 'dead')).toBe(true);
    // Back in the master's view too.
    expect(h.runUntilTrue(() => names.every((n) => h.node(n).membersView()?.members.some((m) => m.nodeId === 'n2') === true), 30_000)).toBe(true);
  });

  it('a crashed node that restarts under the same id is accepted as a new life', () => {
    const h = joined(16);
    const oldIncarnation = h.node('n4').localState().incarnation;
    h.crash('n4');
    expect(h.runUntilTrue(() => others('n4').every((o) => h.stateOf(o, 'n4') === 'dead'), 60_000)).toBe(true);
    h.runFor(5_000);
    h.add('n4', { seeds: [addr('n1')] });
    h.start('n4');
    expect(h.runUntilTrue(() => converged(h), 30_000)).toBe(true);
    expect(h.node('n1').member('n4')!.incarnation).toBeGreaterThan(oldIncarnation);
    expect(h.runUntilTrue(() => h.node('n1').membersView()!.members.some((m) => m.nodeId === 'n4'), 10_000)).toBe(true);
  });
});

describe('SwimMachine: local health', () => {
  it('a node whose probes go unanswered raises its awareness score and probes more slowly', () => {
    const h = joined(17);
    // n1 can send but hears nothing back.
    h.drop = (p) => p.to === addr('n1');
    h.runFor(6_000);
    const score = h.node('n1').stats().awarenessScore;
    expect(score).toBeGreaterThan(0);
    h.heal();
    h.runFor(60_000);
    expect(h.node('n1').stats().awarenessScore).toBeLessThan(score);
  });
});
