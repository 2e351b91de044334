import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Seed count: docs/simulator.md (Sharding scenarios) gives the time per seed and the budget.
// Seeds 2, 18 and 19 fail on open bugs (docs/simulator.md, "Open"): two partition-table
// lineages after a heal that is not a merge (2, 19), and a ready copy whose finalize was
// lost while its partition moved on (18). They are left out until those are fixed.
describe('sharding scenario flapping-member', () => {
  sweepSeeds('flapping-member', [1, 3, 4, 5, 7, 8, 9, 10], [
    { seed: 6, why: "a copy's MigrateFinalize was lost in a cut and the destination kept it in flight forever" },
    {
      seed: 12,
      why: "a destination kept a copy the master had called off running forever, then a source refused a MigrateStart that came before its master's table and the wave waited out the 60 s migration timeout",
    },
  ]);
});
