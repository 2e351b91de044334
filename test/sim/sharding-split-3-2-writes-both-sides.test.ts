import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Seed count: docs/simulator.md (Sharding scenarios) gives the time per seed and the budget.
describe('sharding scenario split-3-2-writes-both-sides', () => {
  sweepSeeds('split-3-2-writes-both-sides', 8);
});
