/**
 * What a simulator scenario is and how one is run and judged: each scenario builds a
 * simulation from (nodes, seed), drives it, and returns measurements plus the checks that
 * failed. A failure always carries the seed and the command that replays it.
 */
import { performance } from 'node:perf_hooks';
import type { Millis } from '../src/core/clock.js';
import type { NetworkStats } from './network.js';

/** Parameters of one scenario run. */
export interface ScenarioParams {
  readonly nodes: number;
  readonly seed: number;
}

/** Outcome of one scenario run. */
export interface ScenarioResult {
  /** True when every check held. */
  readonly ok: boolean;
  /** Scenario-specific figures; durations are ms of virtual time; null when not reached. */
  readonly measurements: Readonly<Record<string, number | null>>;
  /** Checks that failed, in plain words. */
  readonly failures: readonly string[];
  /** Messages sent per member per second of virtual time, over the scenario's traffic window. */
  readonly messagesPerMemberPerSec: number;
  /** Bytes sent per member per second of virtual time, over the same window. */
  readonly bytesPerMemberPerSec: number;
  /** Virtual time the scenario covered, ms. */
  readonly virtualMs: Millis;
  /** Extra lines for the readable summary. */
  readonly notes?: readonly string[];
}

/** A registered scenario. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly defaultNodes: number;
  /** Smallest node count the scenario makes sense with. */
  readonly minNodes?: number;
  run(params: ScenarioParams): Promise<ScenarioResult> | ScenarioResult;
}

/** A scenario run with its identity, wall-clock cost and any crash. */
export interface ScenarioReport extends ScenarioResult {
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number;
  /** Real time the run took, ms (not deterministic: for speed reporting only). */
  readonly wallMs: number;
  /** The exact command that replays this run. */
  readonly replay: string;
  /** Stack of an exception the run threw, if any. */
  readonly error?: string;
}

/** The command that replays a run. */
export function replayCommand(scenario: string, seed: number, nodes: number): string {
  return `npm run sim -- ${scenario} --seed ${seed} --nodes ${nodes}`;
}

/** Run a scenario, turning an exception into a failed report (never throws). */
export async function runScenario(scenario: Scenario, params: ScenarioParams): Promise<ScenarioReport> {
  const start = performance.now();
  const identity = { scenario: scenario.name, seed: params.seed, nodes: params.nodes, replay: replayCommand(scenario.name, params.seed, params.nodes) };
  try {
    const result = await scenario.run(params);
    return { ...result, ...identity, wallMs: Math.round(performance.now() - start) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      ...identity,
      ok: false,
      measurements: {},
      failures: [`threw: ${message}`],
      messagesPerMemberPerSec: 0,
      bytesPerMemberPerSec: 0,
      virtualMs: 0,
      wallMs: Math.round(performance.now() - start),
      error: err instanceof Error ? (err.stack ?? message) : message,
    };
  }
}

/** Thrown by `assertScenarioOk`: names the failed checks, the seed and the replay command. */
export class ScenarioFailure extends Error {
  constructor(readonly report: ScenarioReport) {
    super(describeFailure(report));
    this.name = 'ScenarioFailure';
  }
}

/** Throw a `ScenarioFailure` unless the report is ok. */
export function assertScenarioOk(report: ScenarioReport): void {
  if (!report.ok) throw new ScenarioFailure(report);
}

/** One paragraph describing a failed run. */
export function describeFailure(report: ScenarioReport): string {
  const lines = [
    `scenario ${report.scenario} failed (seed ${report.seed}, ${report.nodes} nodes):`,
    ...report.failures.map((f) => `  - ${f}`),
    `replay: ${report.replay}`,
  ];
  if (report.error !== undefined) lines.push(report.error);
  return lines.join('\n');
}

/** Collects the checks of one scenario run. */
export class Checks {
  private readonly failed: string[] = [];

  /** Record `message` as a failure unless `condition` holds. */
  check(condition: boolean, message: string): void {
    if (!condition) this.failed.push(message);
  }

  get ok(): boolean {
    return this.failed.length === 0;
  }

  get failures(): readonly string[] {
    return this.failed;
  }
}

/** Per-member traffic rates from network counters over a window of virtual time. */
export function trafficRates(stats: NetworkStats, members: number, windowMs: Millis): { messagesPerMemberPerSec: number; bytesPerMemberPerSec: number } {
  const perMemberSec = Math.max(1, members) * Math.max(1, windowMs) / 1000;
  return {
    messagesPerMemberPerSec: round2(stats.sentMessages / perMemberSec),
    bytesPerMemberPerSec: round2(stats.sentBytes / perMemberSec),
  };
}

/** Round to 2 decimals, for stable, readable output. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
