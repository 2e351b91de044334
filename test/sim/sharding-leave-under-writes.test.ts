import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Seed count: docs/simulator.md (Sharding scenarios) gives the time per seed and the budget.
describe('sharding scenario leave-under-writes', () => {
  sweepSeeds('leave-under-writes', 8);
});
