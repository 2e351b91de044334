/**
 * Shared steps of the SWIM scenarios: form a cluster (or fail the scenario cleanly),
 * measure steady-state traffic over a window, and package checks and measurements into
 * a `ScenarioResult`.
 */
import type { Millis } from '../../src/core/clock.js';
import { Checks, trafficRates, type ScenarioResult } from '../scenario.js';
import { MembershipRecorder } from './recorder.js';
import { formCluster, swimSimulation, type SwimSimulation, type SwimSimulationOptions } from './swim-simulation.js';

/** A formed cluster with its recorder and checks, ready for a scenario's chaos. */
export interface Stage {
  readonly sim: SwimSimulation;
  readonly rec: MembershipRecorder;
  readonly checks: Checks;
  /** Virtual ms the cluster took to form, or null when it did not. */
  readonly formedMs: number | null;
  traffic: { messagesPerMemberPerSec: number; bytesPerMemberPerSec: number };
}

/** Build a simulation, form a cluster of `nodes`, and check that it formed. */
export function stage(nodes: number, options: SwimSimulationOptions, formTimeoutMs: Millis = 60_000): Stage {
  const sim = swimSimulation(options);
  const rec = new MembershipRecorder(sim);
  const checks = new Checks();
  const formed = formCluster(sim, nodes, formTimeoutMs);
  checks.check(formed !== undefined, `the cluster of ${nodes} did not form within ${formTimeoutMs} ms`);
  return { sim, rec, checks, formedMs: formed ?? null, traffic: { messagesPerMemberPerSec: 0, bytesPerMemberPerSec: 0 } };
}

/** Run `windowMs` with fresh counters and record per-member traffic over it. */
export function measureTraffic(s: Stage, members: number, windowMs: Millis): void {
  s.sim.network.resetStats();
  s.sim.runFor(windowMs);
  s.traffic = trafficRates(s.sim.stats(), members, windowMs);
}

/** The scenario result of a stage. */
export function finish(s: Stage, measurements: Record<string, number | null | undefined>, notes?: string[]): ScenarioResult {
  const clean: Record<string, number | null> = { formedMs: s.formedMs };
  for (const [k, v] of Object.entries(measurements)) clean[k] = v ?? null;
  return {
    ok: s.checks.ok,
    failures: s.checks.failures,
    measurements: clean,
    ...s.traffic,
    virtualMs: s.sim.elapsedMs,
    ...(notes === undefined ? {} : { notes }),
  };
}

/** `at - since`, or null when `at` is undefined. */
export function since(at: Millis | undefined, start: Millis): number | null {
  return at === undefined ? null : at - start;
}
