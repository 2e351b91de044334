import { describe, expect, it } from 'vitest';
import type { MembersViewData, PartitionTableData } from '../../src/core/model.js';
import { PartitionCoordinator } from '../../src/partitions/coordinator.js';
import type { PartitionEvent } from '../../src/partitions/coordinator-events.js';

const view: MembersViewData = {
  version: 3,
  members: ['a', 'b'].map((nodeId, i) => ({ nodeId, address: `${nodeId}:7000`, joinVersion: i + 1, status: 'active' as const, incarnation: 1, tags: {} })),
};

function table(version: number, owner: string, epoch: number, lineage?: string): PartitionTableData {
  const data = { version, partitionCount: 4, assignments: [0, 1, 2, 3].map((partition) => ({ partition, owner, backups: [], epoch })) };
  return lineage === undefined ? data : { ...data, lineage };
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
    // A master that formed a cluster of its own and took merges in raises every epoch above
    // the tables reported to it: a node that never merged must not take such a table as
    // the next of its own, or what it holds as owner is dropped without a handover.
    ['a newer version of another named lineage, every epoch higher', table(10, 'b', 5, 'x/3'), table(40, 'a', 9, 'a/7'), true],
    ['a newer version of the same named lineage', table(10, 'b', 5, 'x/3'), table(11, 'a', 6, 'x/3'), false],
    ['a newer named version after an unnamed one (an earlier version of the code)', table(10, 'b', 5), table(11, 'a', 6, 'a/7'), false],
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

  it('a named table is taken whole, lineage included', () => {
    const { coordinator } = hear(table(0, 'b', 0), table(2, 'a', 1, 'a/7'));
    expect(coordinator.table().toData().lineage).toBe('a/7');
  });
});

describe('a master that begins a table', () => {
  it('names its lineage on the first version and carries it on every later one', () => {
    const master = new PartitionCoordinator({ self: 'a', config: { partitionCount: 4, backupCount: 0 }, now: 0 });
    master.onMembersView({ version: 3, members: [view.members[0]!] }, 0);
    for (let t = 1; t < 50 && master.table().version === 0; t++) master.tick(t);
    const first = master.table().toData();
    expect(first.version).toBeGreaterThan(0);
    expect(first.lineage).toBe('a/3');
    master.onMembersView(view, 60);
    for (let t = 61; t < 200; t++) master.tick(t);
    expect(master.table().toData().lineage).toBe('a/3');
  });
});

