import { describe, expect, it } from 'vitest';
import { addr, Harness } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

describe('SwimMachine: join and converge', () => {
  it('five nodes join through one seed and all see each other alive', () => {
    const h = new Harness(1);
    h.cluster(names);
    const converged = (): boolean => names.every((o) => names.every((s) => h.stateOf(o, s) === 'alive'));
    expect(h.runUntilTrue(converged, 10_000)).toBe(true);
    for (const n of names) {
      expect(h.node(n).status()).toBe('running');
      expect(h.eventsOf(n, 'JoinCompleted')).toHaveLength(1);
    }
    // Everybody ends up with the same view, of all five, published by n1.
    h.runFor(2_000);
    const view = h.node('n1').membersView()!;
    expect(view.members.map((m) => m.nodeId).sort()).toEqual(names);
    for (const n of names) {
      expect(h.node(n).membersView()).toEqual(view);
      expect(h.node(n).master()).toBe('n1');
    }
    expect(h.node('n1').isMaster()).toBe(true);
    expect(h.node('n2').isMaster()).toBe(false);
    // Join versions follow admission order.
    const jv = new Map(view.members.map((m) => [m.nodeId, m.joinVersion]));
    expect(jv.get('n1')).toBe(1);
    expect(new Set(jv.values()).size).toBe(5);
  });

  it('stays quiet and stable for a long run without failures', () => {
    const h = new Harness(2);
    h.cluster(names);
    h.runFor(120_000);
    for (const o of names) for (const s of names) expect(h.stateOf(o, s)).toBe('alive');
    for (const n of names) {
      expect(h.eventsOf(n, 'NodeFailed')).toHaveLength(0);
      expect(h.eventsOf(n, 'NodeSuspected')).toHaveLength(0);
      expect(h.node(n).stats().probes).toBeGreaterThan(100);
    }
  });

  it('a seed list that includes the node itself works', () => {
    const h = new Harness(3);
    const seeds = [addr('n1'), addr('n2'), addr('n3')];
    for (const n of ['n1', 'n2', 'n3']) h.add(n, { seeds });
    for (const n of ['n1', 'n2', 'n3']) h.start(n);
    const converged = (): boolean => ['n1', 'n2', 'n3'].every((o) => ['n1', 'n2', 'n3'].every((s) => h.stateOf(o, s) === 'alive'));
    expect(h.runUntilTrue(converged, 30_000)).toBe(true);
    // Exactly one of them formed the cluster: the lowest address.
    const formed = ['n1', 'n2', 'n3'].filter((n) => h.eventsOf(n, 'JoinCompleted')[0]?.formed === true);
    expect(formed).toEqual(['n1']);
  });

  it('only self in the seed list forms a new cluster at once', () => {
    const h = new Harness(4);
    h.add('solo', { seeds: [addr('solo')] });
    h.start('solo');
    expect(h.node('solo').status()).toBe('running');
    expect(h.node('solo').isMaster()).toBe(true);
    expect(h.node('solo').membersView()?.version).toBe(1);
  });
});
