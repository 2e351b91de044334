import { describe, expect, it } from 'vitest';
import { MembershipRecorder } from '../../sim/swim/recorder.js';
import { converged, formCluster, swimSimulation, type SwimSimulationOptions } from '../../sim/swim/swim-simulation.js';

/** A short chaos script on five real SWIM nodes; returns the trace digest and what happened. */
function chaos(options: Omit<SwimSimulationOptions, 'trace'>) {
  const sim = swimSimulation({ ...options, trace: true });
  const rec = new MembershipRecorder(sim);
  const formedMs = formCluster(sim, 5);
  sim.network.setDefaults({ lossProbability: 0.05, duplicateProbability: 0.02, jitterMs: 3 });
  sim.act('node-002', (m) => m.updateTag('role', 'web'));
  sim.runFor(5_000);
  sim.pause('node-003', 2_000);
  sim.crash('node-004');
  sim.runFor(40_000);
  sim.restart('node-004');
  sim.runFor(20_000);
  return { digest: sim.traceDigest(), records: sim.traceTail().records, formedMs, failed: rec.failed.length, converged: converged(sim.nodes()), stats: sim.stats() };
}

describe('SWIM under the simulator', () => {
  it('replays identically from a seed, with every message through the codec', () => {
    const a = chaos({ seed: 7, codecRoundTrip: true });
    const b = chaos({ seed: 7, codecRoundTrip: true });
    expect(a.formedMs).toBeDefined();
    expect(a.records).toBeGreaterThan(1_000);
    expect(b.digest).toBe(a.digest);
    expect(chaos({ seed: 8, codecRoundTrip: true }).digest).not.toBe(a.digest);
  });

  it('runs the same with and without the codec round trip (the codec loses nothing the machines use)', () => {
    const plain = chaos({ seed: 9 });
    const coded = chaos({ seed: 9, codecRoundTrip: true });
    expect(coded.digest).toBe(plain.digest);
    expect(coded.failed).toBeGreaterThan(0);
    expect(coded.converged).toBe(true);
  });

  it('counts wire bytes with the codec, exactly or sampled', () => {
    const exact = swimSimulation({ seed: 3 });
    formCluster(exact, 10);
    exact.runFor(300_000);
    const sampled = swimSimulation({ seed: 3, sizeSampleEvery: 8 });
    formCluster(sampled, 10);
    sampled.runFor(300_000);
    const e = exact.stats();
    const s = sampled.stats();
    expect(s.sentMessages).toBe(e.sentMessages);
    expect(e.bytesEstimated).toBe(false);
    expect(s.bytesEstimated).toBe(true);
    expect(Math.abs(s.sentBytes - e.sentBytes) / e.sentBytes).toBeLessThan(0.1);
  });
});
