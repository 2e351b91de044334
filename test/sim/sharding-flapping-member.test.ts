import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Seed count: docs/simulator.md (Sharding scenarios) gives the time per seed and the budget.
describe('sharding scenario flapping-member', () => {
  sweepSeeds('flapping-member', 3, [
    { seed: 6, why: "a copy's MigrateFinalize was lost in a cut and the destination kept it in flight forever" },
    { seed: 12, why: 'a destination kept a copy the master had called off running forever, then a source refused a MigrateStart that came before its master\'s table and the wave waited out the 60 s migration timeout' },
  ]);
});
