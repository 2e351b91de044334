// The placement tag: a member tagged `placement=none` (etcd mode: a runner that lost its
// lease) is given no replica. (Moving a tagged member's partitions away and back over real
// nodes is covered in test/node/etcd/etcd-mode.test.ts.)
import { describe, expect, it } from 'vitest';
import { PLACEMENT_NONE, PLACEMENT_TAG } from '../../src/partitions/index.js';
import { CoordinatorHarness } from './coordinator-harness.js';
import { expectBalanced } from './fixtures.js';

describe('PartitionCoordinator: placement=none', () => {
  it('places nothing on a tagged member and balances over the others', () => {
    const h = new CoordinatorHarness();
    h.join('a');
    h.settle();
    h.join('b');
    h.settle();
    h.join('c', { [PLACEMENT_TAG]: PLACEMENT_NONE });
    h.settle();
    const table = h.coordinator('a').table();
    const assignments = table.assignments().map(({ partition, owner, backups }) => ({ partition, owner, backups }));
    expect(table.partitionsForNode('c')).toEqual({ owned: [], backups: [] });
    expectBalanced(assignments, 271, ['a', 'b'], 1);
  });
});
