import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// A cluster singleton through a leader crash, a join and a leader leave, over seeds.
describe('sharding scenario singleton-moves', () => {
  sweepSeeds('singleton-moves', 8);
});
