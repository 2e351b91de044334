// The adaptive-timeout scenario holds on more seeds than the scenario suite's one: fixed
// against adaptive probe timeouts on heavy-tailed links with slow members.
import { describe, expect, it } from 'vitest';
import { assertScenarioOk, runScenario } from '../../sim/scenario.js';
import { adaptiveTimeoutScenario, FALSE_SUSPICION_RATIO_MIN } from '../../sim/scenarios/adaptive-timeout.js';

describe('adaptive-timeout scenario', () => {
  it.each([3, 10])('adaptive timeouts raise 5x fewer false suspicions and detect crashes as fast (seed %i)', async (seed) => {
    const report = await runScenario(adaptiveTimeoutScenario, { nodes: adaptiveTimeoutScenario.defaultNodes, seed });
    assertScenarioOk(report);
    const { fixedFalseSuspicions, adaptiveFalseSuspicions } = report.measurements;
    expect(fixedFalseSuspicions).toBeGreaterThanOrEqual(FALSE_SUSPICION_RATIO_MIN * (adaptiveFalseSuspicions ?? Infinity));
    expect(fixedFalseSuspicions).toBeGreaterThan(0);
  });
});
