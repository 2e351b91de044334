import { describe, expect, it } from 'vitest';
import { CRASH_POINT_STRIDE, crashPoints } from '../../sim/scenarios/workflow-crashes.js';
import { WORKFLOW_STEPS } from '../../sim/durable/workflow-probe.js';
import { sweepSeeds } from './sharding-seeds.js';

// A 20-step workflow (with a sleep and a child) killed at commit boundaries and in the
// middle of activities, with durable timers due under the resulting partition moves.
describe('workflow scenario workflow-crashes', () => {
  it(`seeds 0..${CRASH_POINT_STRIDE - 1} together crash at every commit boundary and in every activity`, () => {
    const boundaries = 26;
    const covered = { b: new Set<number>(), s: new Set<number>() };
    for (let seed = 0; seed < CRASH_POINT_STRIDE; seed++) {
      const p = crashPoints(seed, boundaries);
      p.boundaries.forEach((b) => covered.b.add(b));
      p.steps.forEach((st) => covered.s.add(st));
    }
    expect(covered.b.size).toBe(boundaries);
    expect(covered.s.size).toBe(WORKFLOW_STEPS);
  });

  sweepSeeds('workflow-crashes', Array.from({ length: CRASH_POINT_STRIDE }, (_, i) => i));
});
