import { describe, expect, it } from 'vitest';
import type { MembersViewData, PartitionTableData } from '../../src/core/model.js';
import { PartitionCoordinator } from '../../src/partitions/coordinator.js';
import type { PartitionEvent } from '../../src/partitions/coordinator-events.js';

const view: MembersViewData = {
  version: 3,
  members: ['a', 'b'].map((nodeId, i) => ({ nodeId, address: `${nodeId}:7000`, joinVersion: i + 1, status: 'active' as const, incarnation: 1, tags: {} })),
};

function table(version: number, owner: string, epoch: number): PartitionTableData {
  return { version, partitionCount: 4, assignments: [0, 1, 2, 3].map((partition) => ({ partition, owner, backups: [], epoch })) };
}

/** Member `b`, holding `held`, follows master `a` and hears `update` from it; returns the events. */
function hear(held: PartitionTableData, update: PartitionTableData): { events: PartitionEvent[]; coordinator: PartitionCoordinator } {
  const coordinator = new PartitionCoordinator({ self: 'b', config: { partitionCount: 4, backupCount: 0 }, now: 0, table: held });
  coordinator.onMembersView(view, 0);
  coordinator.handle('a:7000', { type: 'PartitionTableUpdate', table: update, completedMigrations: [] }, 1);
  const events: PartitionEvent[] = [];
  for (let e = coordinator.pollEvent(); e !== undefined; e = coordinator.pollEvent()) events.push(e);
  return { events, coordinator };
}

describe('a member whose master publishes a table of another lineage', () => {
  const cases: [string, PartitionTableData, PartitionTableData, boolean][] = [
    ['an older version', table(10, 'b', 5), table(7, 'a', 3), true],
    ['the same version, unlike', table(10, 'b', 5), table(10, 'a', 5), true],
    ['a newer version lowering epochs', table(10, 'b', 5), table(12, 'a', 3), true],
    ['the same version and content (a repeat)', table(10, 'b', 5), table(10, 'b', 5), false],
    ['a newer version of the same lineage', table(10, 'b', 5), table(11, 'a', 6), false],
  ];
  for (const [name, held, update, diverges] of cases) {
    it(`${name}: ${diverges ? 'reports the divergence once and keeps its table' : 'is no divergence'}`, () => {
      const { events, coordinator } = hear(held, update);
      const diverged = events.filter((e) => e.type === 'LineageDiverged');
      if (!diverges) {
        expect(diverged).toEqual([]);
        return;
      }
      expect(diverged).toEqual([{ type: 'LineageDiverged', master: 'a', masterTableVersion: update.version, table: held }]);
      expect(coordinator.table().version).toBe(held.version);
      // Nothing more from that master is taken or reported: the driver starts over.
      coordinator.handle('a:7000', { type: 'PartitionTableUpdate', table: table(held.version + 5, 'a', 9), completedMigrations: [] }, 2);
      expect(coordinator.pollEvent()).toBeUndefined();
      expect(coordinator.table().version).toBe(held.version);
    });
  }

  it('a node without a table yet takes the master table whatever it is', () => {
    const { events, coordinator } = hear(table(0, 'b', 0), table(2, 'a', 1));
    expect(events.map((e) => e.type)).toEqual(['TableChanged']);
    expect(coordinator.table().version).toBe(2);
  });
});
