import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// The master stops (SIGSTOP) and resumes with everything that queued up for it, once with
// the cluster settled and once while it still places the backups of writes it took alone.
describe('sharding scenarios with a frozen master', () => {
  sweepSeeds('frozen-master', 5);
  sweepSeeds('frozen-master-rebalancing', 10, [
    { seed: 4, why: 'the master, held dead, took the others\' table on resuming and dropped partitions it owned alone: writes it acknowledged with no backup in place lost' },
    { seed: 11, why: 'the master, held dead, took the others\' table on resuming and dropped partitions it owned alone: writes it acknowledged with no backup in place lost' },
    { seed: 20, why: 'the master committed a move queued before its stall after the destination had called the copy off, and dropped its own copy; the others had given the partition to a new, empty owner' },
    { seed: 184, why: 'as seed 20, but the new master gave the partition afresh to the very node that had called the copy off: the resumed master dropped its kept copy, since the owner was the move\'s destination' },
  ]);
});
