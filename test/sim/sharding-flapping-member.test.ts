import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Seed count: docs/simulator.md (Sharding scenarios) gives the time per seed and the budget.
// Seed 18 once showed a ready copy whose finalize was lost while its partition moved on;
// such a copy now asks the master about it (MigrateQuery; flapping-master seed 20 is the
// reproduction that failed until then).
describe('sharding scenario flapping-member', () => {
  sweepSeeds('flapping-member', [1, 2, 3, 4, 5], [
    { seed: 6, why: "a copy's MigrateFinalize was lost in a cut and the destination kept it in flight forever" },
    {
      seed: 12,
      why: "a destination kept a copy the master had called off running forever, then a source refused a MigrateStart that came before its master's table and the wave waited out the 60 s migration timeout",
    },
    { seed: 18, why: 'a ready copy whose finalize was lost while its partition moved on (no longer reached by this seed)' },
    ...[19, 82, 109, 185].map((seed) => ({ seed, why: 'two partition-table lineages after a heal that was not a merge' })),
  ]);
});
