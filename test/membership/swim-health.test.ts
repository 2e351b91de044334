// Health checks in the membership machine: a node whose own check fails reports itself
// suspect (and is not killed for it) until healthy; the master turns a member's stopped
// heartbeats into a failed check and a suspicion, and a passed check when they resume.
import { describe, expect, it } from 'vitest';
import { addr, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4'];
const others = names.filter((n) => n !== 'n3');

describe('SwimMachine: own health check', () => {
  it('a failing check makes the node suspect everywhere, without dying, until it passes', () => {
    const h = joinedCluster(101, names);
    const incarnation = h.node('n3').localState().incarnation;
    h.act('n3', (m, now) => m.reportHealth(false, now, 'disk full'));
    expect(h.eventsOf('n3', 'HealthCheckFailed')).toMatchObject([{ source: 'check', detail: 'disk full', member: { nodeId: 'n3' } }]);
    h.runFor(60_000);
    for (const o of others) {
      expect(h.stateOf(o, 'n3')).toBe('suspect');
      expect(h.eventsOf(o, 'NodeSuspected').filter((e) => e.member.nodeId === 'n3')[0]?.accuser).toBe('n3');
      expect(h.eventsOf(o, 'NodeFailed')).toEqual([]);
    }
    // A repeated report changes nothing.
    h.act('n3', (m, now) => m.reportHealth(false, now, 'disk full'));
    expect(h.eventsOf('n3', 'HealthCheckFailed')).toHaveLength(1);

    h.act('n3', (m, now) => m.reportHealth(true, now));
    expect(h.eventsOf('n3', 'HealthCheckPassed')).toMatchObject([{ source: 'check' }]);
    expect(h.runUntilTrue(() => others.every((o) => h.stateOf(o, 'n3') === 'alive'), 10_000)).toBe(true);
    expect(h.node('n3').localState().incarnation).toBeGreaterThan(incarnation);
  });

  it('a node that fails its check and then crashes is still declared dead', () => {
    const h = joinedCluster(102, names);
    h.act('n3', (m, now) => m.reportHealth(false, now, 'overloaded'));
    h.runFor(5_000);
    h.crash('n3');
    expect(h.runUntilTrue(() => others.every((o) => h.stateOf(o, 'n3') === 'dead'), 60_000)).toBe(true);
  });
});

describe('SwimMachine: heartbeats to the master', () => {
  it('the master fails the check of a member whose heartbeats stop, suspects it, and passes it when they resume', () => {
    const h = joinedCluster(103, names);
    const master = h.node('n1').master()!;
    expect(master).toBe('n1');
    h.runFor(30_000);
    // n3 still answers probes but its heartbeats no longer reach the master.
    h.drop = (p) => p.message.type === 'Heartbeat' && p.from === addr('n3');
    expect(h.runUntilTrue(() => h.eventsOf('n1', 'HealthCheckFailed').length > 0, 30_000)).toBe(true);
    const [failed] = h.eventsOf('n1', 'HealthCheckFailed');
    expect(failed).toMatchObject({ source: 'heartbeats', member: { nodeId: 'n3' } });
    expect(h.eventsOf('n1', 'NodeSuspected').some((e) => e.member.nodeId === 'n3' && e.accuser === 'n1')).toBe(true);
    expect(h.node('n1').stats().healthSuspicions).toBe(1);
    // It is alive, so it refutes; the master does not suspect it again while the check stays failed.
    h.runFor(30_000);
    expect(h.stateOf('n1', 'n3')).toBe('alive');
    expect(h.node('n1').stats().healthSuspicions).toBe(1);

    h.drop = () => false;
    expect(h.runUntilTrue(() => h.eventsOf('n1', 'HealthCheckPassed').length > 0, 10_000)).toBe(true);
    expect(h.eventsOf('n1', 'HealthCheckPassed')[0]).toMatchObject({ source: 'heartbeats', member: { nodeId: 'n3' } });
    for (const o of names) expect(h.eventsOf(o, 'NodeFailed')).toEqual([]);
  });

  it('steady heartbeats never fail the check', () => {
    const h = joinedCluster(104, names);
    h.runFor(120_000);
    expect(h.eventsOf('n1', 'HealthCheckFailed')).toEqual([]);
  });
});
