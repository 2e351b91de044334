import { describe, expect, it } from 'vitest';
import { addr, Harness, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3'];

/** `names` formed, then `joiner` started with its clock `offsetMs` off, joining through n1. */
function clusterWithJoiner(seed: number, offsetMs: number): Harness {
  const h = joinedCluster(seed, names);
  h.add('late', { seeds: [addr('n2')], clockOffsetMs: offsetMs });
  h.start('late');
  return h;
}

describe('SwimMachine: clock skew', () => {
  it.each([90_000, -90_000, 60_500])('refuses a joiner whose clock is %d ms off with FLO_CLOCK_SKEW', (offsetMs) => {
    const h = clusterWithJoiner(11, offsetMs);
    expect(h.runUntilTrue(() => h.node('late').status() === 'failed', 30_000)).toBe(true);
    expect(h.node('late').joinError()?.code).toBe('FLO_CLOCK_SKEW');
    const failed = h.eventsOf('late', 'JoinFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error.message).toContain(offsetMs > 0 ? 'ahead of the master' : 'behind the master');
    expect(h.node('n1').stats().clockSkewRefusals).toBeGreaterThanOrEqual(1);
    // It never got in: nobody lists it, the view does not hold it.
    h.runFor(10_000);
    for (const n of names) {
      expect(h.node(n).member('late')).toBeUndefined();
      expect(h.node(n).membersView()!.members.map((m) => m.nodeId)).not.toContain('late');
    }
  });

  it('admits a joiner 10 s ahead, and both sides measure and warn about the offset', () => {
    const h = clusterWithJoiner(12, 10_000);
    const admitted = (): boolean => names.every((n) => h.stateOf(n, 'late') === 'alive') && h.node('late').status() === 'running';
    expect(h.runUntilTrue(admitted, 30_000)).toBe(true);
    // Every member probes every other within a few periods.
    h.runFor(10_000);
    for (const n of names) {
      // Symmetric 2 ms links: the midpoint estimate is exact.
      expect(h.node(n).member('late')?.clockOffsetMs).toBe(10_000);
      expect(h.node('late').member(n)?.clockOffsetMs).toBe(-10_000);
      const warnings = h.eventsOf(n, 'ClockSkewDetected');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ nodeId: 'late', address: addr('late'), offsetMs: 10_000, beyondBound: false, boundMs: 60_000 });
      expect(h.node(n).stats().clockOffsetMaxAbsMs).toBe(10_000);
    }
    expect(h.eventsOf('late', 'ClockSkewDetected').map((e) => e.nodeId).sort()).toEqual(names);
    // Members with good clocks measure each other at 0 and do not warn about each other.
    expect(h.node('n1').member('n2')?.clockOffsetMs).toBe(0);
    // One warning per member per interval (60 s), however many probes.
    h.runFor(40_000);
    expect(h.eventsOf('n1', 'ClockSkewDetected')).toHaveLength(1);
    h.runFor(30_000);
    expect(h.eventsOf('n1', 'ClockSkewDetected')).toHaveLength(2);
    expect(h.node('n1').stats().clockSkewWarnings).toBe(2);
  });

  it('a cluster of good clocks measures no offset and never warns', () => {
    const h = joinedCluster(13, names);
    h.runFor(30_000);
    for (const o of names) {
      expect(h.eventsOf(o, 'ClockSkewDetected')).toHaveLength(0);
      for (const s of names) if (s !== o) expect(h.node(o).member(s)?.clockOffsetMs).toBe(0);
      expect(h.node(o).member(o)?.clockOffsetMs).toBeUndefined();
    }
  });

  it('a member whose clock jumps past the bound after joining is reported beyond the bound', () => {
    const h = clusterWithJoiner(14, 0);
    expect(h.runUntilTrue(() => h.node('late').status() === 'running' && h.stateOf('n1', 'late') === 'alive', 30_000)).toBe(true);
    // Its clock steps 90 s ahead: the same machine, a later `now`.
    h.setClockOffset('late', 90_000);
    h.runFor(15_000);
    const beyond = h.eventsOf('n1', 'ClockSkewDetected').filter((e) => e.beyondBound);
    expect(beyond.length).toBeGreaterThanOrEqual(1);
    expect(beyond[0]).toMatchObject({ nodeId: 'late', offsetMs: 90_000 });
  });
});
