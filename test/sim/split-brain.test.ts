import { describe, it } from 'vitest';
import { assertScenarioOk, runScenario } from '../../sim/scenario.js';
import { splitBrain32Scenario, splitBrain3WayScenario, splitBrainTieScenario } from '../../sim/scenarios/split-brain.js';

const seeds = [1, 2, 3, 4, 5];

describe('split-brain scenarios over several seeds', () => {
  for (const scenario of [splitBrain32Scenario, splitBrainTieScenario, splitBrain3WayScenario]) {
    for (const seed of seeds) {
      it(`${scenario.name} merges into one cluster (seed ${seed})`, async () => {
        assertScenarioOk(await runScenario(scenario, { nodes: scenario.defaultNodes, seed }));
      });
    }
  }
});
