import { describe } from 'vitest';
import { sweepSeeds } from './sharding-seeds.js';

// Heals that need one partition-table lineage afterwards: a 3|2 split healed as soon as
// each side has its own master, and a flapping master. flapping-master 9 and 10 once had
// two writers at one epoch (a node that formed a cluster of its own started its table over
// and repeated epochs another lineage had used).
describe('sharding scenarios that heal into one table lineage', () => {
  sweepSeeds('split-3-2-short-heal', [1, 2, 4, 6, 7, 8, 9, 10], [
    { seed: 3, why: 'a merged chunk applied on an owner whose move was sealed never reached the destination; later, a 60 s wait for migrations from a node that started over' },
    { seed: 5, why: 'a merged chunk applied on an owner whose move was sealed never reached the destination; later, a 60 s wait for migrations from a node that started over' },
    { seed: 77, why: 'the minority counted a majority member that refuted its suspicion but followed the other master, regained a majority, and served writes at an epoch the majority used (code before the quorum fixes)' },
    { seed: 14, why: 'the minority master regained its majority but kept publishing the members it had waited for as suspect: membership never agreed (first version of the lapse rule)' },
    { seed: 205, why: 'the minority master took the winner\'s view and answered a read as its owner from its own side\'s table before the winner\'s reached it: an acknowledged write read as absent' },
  ]);
  sweepSeeds('flapping-master', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [
    { seed: 26, why: 'acknowledged writes read back as absent (lost) after the flaps' },
    { seed: 36, why: 'membership never agreed again after the flaps' },
    { seed: 42, why: 'acknowledged writes read back as absent (lost) after the flaps' },
    { seed: 50, why: 'acknowledged writes read back as absent (lost) after the flaps' },
    { seed: 56, why: 'acknowledged writes read back as absent (lost) after the flaps' },
    { seed: 27, why: 'two masters each counted the other\'s members, and the cluster merged into the master that came back; acknowledged writes lost' },
    { seed: 74, why: 'a master back from a stall counted members that followed another master, won the merge, and wrote at an epoch the other lineage used' },
    { seed: 20, why: 'the master cancelled a ready copy while it held the destination dead, so the cancel went to nobody and the copy stayed ready past the 75 s bound; now the copy asks the master (MigrateQuery)' },
  ]);
});
