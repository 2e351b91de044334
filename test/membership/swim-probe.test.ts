import { describe, expect, it } from 'vitest';
import { Harness, addr, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4'];

const joined = (seed: number): Harness => joinedCluster(seed, names);

describe('SwimMachine: probing', () => {
  it('indirect probes through helpers save a node whose direct path is broken', () => {
    const h = joined(81);
    // n1 and n3 cannot talk directly; everyone else can.
    h.drop = (p) => (p.from === addr('n1') && p.to === addr('n3')) || (p.from === addr('n3') && p.to === addr('n1'));
    h.runFor(30_000);
    expect(h.node('n1').stats().indirectProbes).toBeGreaterThan(0);
    expect(names.reduce((s, n) => s + h.node(n).stats().relays, 0)).toBeGreaterThan(0);
    for (const n of names) expect(h.eventsOf(n, 'NodeFailed')).toHaveLength(0);
    expect(h.stateOf('n1', 'n3')).not.toBe('dead');
  });

  it('helpers answer with a Nack when they cannot reach the target either, sparing the prober\'s health', () => {
    const h = joined(82);
    h.crash('n4');
    h.runUntilTrue(() => h.node('n1').stats().probeFailures > 0, 20_000);
    const s = h.node('n1').stats();
    expect(s.nacksReceived).toBeGreaterThan(0);
    // Nacks arrived from every helper, so the failure is not held against n1.
    expect(s.awarenessScore).toBe(0);
  });

  it('each probe period probes one member, round-robin', () => {
    const h = joined(83);
    const start = h.now;
    h.runFor(30_000);
    const pings = h.sent.filter((p) => p.at > start && p.from === addr('n2') && p.message.type === 'Ping' && p.channel === 'udp');
    expect(pings.length).toBeGreaterThanOrEqual(29);
    expect(pings.length).toBeLessThanOrEqual(31);
    // Round-robin: every window of 3 consecutive probes covers all three others.
    for (let i = 0; i + 3 <= pings.length; i += 3) {
      const targets = new Set(pings.slice(i, i + 3).map((p) => p.to));
      expect(targets.size).toBeGreaterThanOrEqual(2);
    }
    const targets = new Set(pings.map((p) => p.to));
    expect(targets).toEqual(new Set([addr('n1'), addr('n3'), addr('n4')]));
  });

  it('idles without gossip ticks: only probes, heartbeats and anti-entropy wake it', () => {
    const h = joined(84);
    const m = h.node('n3');
    h.runFor(10_000);
    expect(m.stats().gossipQueued).toBe(0);
    const deadline = m.nextDeadline()!;
    expect(deadline).toBeGreaterThan(h.now - 1);
    expect(deadline - h.now).toBeLessThanOrEqual(m.config.probeIntervalMs);
  });
});

describe('SwimMachine: stats', () => {
  it('counts messages and bytes per type in both directions', () => {
    const h = joined(85);
    const s = h.node('n2').stats();
    expect(s.sent.Ping!.messages).toBeGreaterThan(0);
    expect(s.sent.Ping!.bytes).toBeGreaterThan(s.sent.Ping!.messages * 20);
    expect(s.received.Ack!.messages).toBeGreaterThan(0);
    expect(s.sent.JoinRequest!.messages).toBe(1);
    expect(s.members).toEqual({ alive: 4, suspect: 0, dead: 0, left: 0 });
    const total = names.reduce((sum, n) => sum + (h.node(n).stats().sent.Ping?.messages ?? 0), 0);
    const acks = names.reduce((sum, n) => sum + (h.node(n).stats().received.Ack?.messages ?? 0), 0);
    expect(acks).toBeGreaterThan(total - 8);
  });
});

describe('SwimMachine: adaptive probe timeouts', () => {
  const slowNames = ['s1', 's2', 's3', 's4'];

  /** Four members on links of 600 ms each way: every round trip outlasts the 1 s period. */
  function slowCluster(seed: number, config: Record<string, number>): Harness {
    const h = new Harness(seed, 600);
    h.cluster(slowNames, { config });
    const allAlive = (): boolean => slowNames.every((o) => slowNames.every((s) => h.stateOf(o, s) === 'alive'));
    if (!h.runUntilTrue(allAlive, 60_000)) throw new Error(`seed ${seed}: the slow cluster did not form`);
    return h;
  }

  const raised = (h: Harness): number => slowNames.reduce((sum, n) => sum + h.node(n).stats().suspicionsRaised, 0);

  it('learns a slow member from its late Acks and stops suspecting it; fixed timeouts suspect it every time', () => {
    const adaptive = slowCluster(91, {});
    adaptive.runFor(20_000);
    const learned = raised(adaptive);
    adaptive.runFor(60_000);
    expect(raised(adaptive)).toBe(learned);
    expect(slowNames.reduce((sum, n) => sum + adaptive.node(n).stats().lateAcks, 0)).toBeGreaterThan(0);
    expect(adaptive.node('s1').stats().probesStretched).toBeGreaterThan(0);

    const fixed = slowCluster(91, { probeTimeoutMinMs: 500, probeTimeoutMaxMs: 500 });
    fixed.runFor(20_000);
    const before = raised(fixed);
    fixed.runFor(60_000);
    expect(raised(fixed) - before).toBeGreaterThan(20);
  });

  it('keeps probing once per period while a slow probe awaits its verdict (probes overlap)', () => {
    const h = slowCluster(92, {});
    h.runFor(20_000);
    const before = h.node('s2').stats().probes;
    h.runFor(30_000);
    const probes = h.node('s2').stats().probes - before;
    expect(probes).toBeGreaterThanOrEqual(29);
    expect(probes).toBeLessThanOrEqual(31);
  });
});
