/**
 * The seed sweep every sharding scenario's suite runs: seeds 1..count (or a given list),
 * each a separate test that fails with the scenario's failed checks and its replay
 * command, plus the seeds that once failed, kept as regressions.
 */
import { it } from 'vitest';
import { assertScenarioOk, runScenario } from '../../sim/scenario.js';
import { findScenario } from '../../sim/scenarios/index.js';

/** Run `name` at its default size for seeds 1..`seeds` (or the seeds listed) and for each of `regressions`. */
export function sweepSeeds(name: string, seeds: number | readonly number[], regressions: readonly { seed: number; why: string }[] = []): void {
  const scenario = findScenario(name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  const list = typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i + 1) : seeds;
  for (const seed of list) {
    it(`${name} holds (seed ${seed})`, async () => {
      assertScenarioOk(await runScenario(scenario, { nodes: scenario.defaultNodes, seed }));
    });
  }
  for (const r of regressions) {
    it(`${name} holds (seed ${r.seed}, once failed: ${r.why})`, async () => {
      assertScenarioOk(await runScenario(scenario, { nodes: scenario.defaultNodes, seed: r.seed }));
    });
  }
}
