import { describe, it } from 'vitest';
import { assertScenarioOk, runScenario } from '../../sim/scenario.js';
import { splitBrain32Scenario, splitBrain3WayScenario, splitBrainHeldTcpScenario, splitBrainTieScenario } from '../../sim/scenarios/split-brain.js';

// Seeds 14 and 16 once split the tie wrongly; the held-TCP scenario failed on most seeds
// before foreign views and accusations were ignored.
const seeds = [1, 2, 3, 4, 5, 14, 16];

// Regressions of the merge count (docs/simulator.md, "Split-brain merges that went the wrong
// way"). 3-2 17, 19, 29, 83, 134, 163, 193 and held-TCP 17, 19, 83: the expected winner was
// read from a view still listing a lapsed member of the other side. Held-TCP 29, 134, 163,
// 193: the three merged into the two (the two's summary claimed a member of the three).
// 3-2 5, 36, 51, held-TCP 77 and tie 149 failed with lapsed members left out of the count
// while a push-pull request from the other side could still accuse one's own members.
// 3-2 489: a merged node sent its own queued Dead of the winner's master.
const pinned: Record<string, readonly number[]> = {
  'split-brain-3-2': [17, 19, 29, 36, 51, 83, 134, 163, 193, 489],
  'split-brain-held-tcp': [17, 19, 29, 77, 83, 134, 163, 193],
  'split-brain-tie': [149],
};

describe('split-brain scenarios over several seeds', () => {
  for (const scenario of [splitBrain32Scenario, splitBrainTieScenario, splitBrain3WayScenario, splitBrainHeldTcpScenario]) {
    for (const seed of [...seeds, ...(pinned[scenario.name] ?? [])]) {
      it(`${scenario.name} merges into one cluster (seed ${seed})`, async () => {
        assertScenarioOk(await runScenario(scenario, { nodes: scenario.defaultNodes, seed }));
      });
    }
  }
});
