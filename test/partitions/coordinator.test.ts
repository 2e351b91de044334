// The partition coordinator in a healthy cluster: formation, joins through the full
// MigrateStart -> MigrateReady -> MigrateFinalize exchange, table distribution and
// refresh, and what a node ignores.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/model.js';
import type { Message } from '../../src/protocol/messages.js';
import { computeAssignment, MembersView, PartitionCoordinator, planRebalance, type ReplicaAssignment } from '../../src/partitions/index.js';
import { CoordinatorHarness } from './coordinator-harness.js';
import { expectBalanced, member } from './fixtures.js';

function entries(h: CoordinatorHarness, id: NodeId): ReplicaAssignment[] {
  return h.coordinator(id).table().assignments().map(({ partition, owner, backups }) => ({ partition, owner, backups }));
}

function cluster(ids: readonly NodeId[], h = new CoordinatorHarness()): CoordinatorHarness {
  for (const id of ids) {
    h.join(id);
    h.settle();
  }
  return h;
}

function expectAllAgree(h: CoordinatorHarness): void {
  const reference = JSON.stringify(h.masterNode().coordinator.table().toData());
  for (const node of h.liveNodes()) expect(JSON.stringify(node.coordinator.table().toData())).toBe(reference);
}

describe('PartitionCoordinator: formation', () => {
  it('a single node owns every partition with no backups', () => {
    const h = cluster(['a']);
    const table = h.coordinator('a').table();
    expect(table.version).toBe(1);
    for (let p = 0; p < 271; p++) {
      expect(table.owner(p)).toBe('a');
      expect(table.backups(p)).toEqual([]);
      expect(table.epoch(p)).toBe(1);
    }
    const [changed] = h.eventsOf('a', 'TableChanged');
    expect(changed!.previousVersion).toBe(0);
    expect(changed!.localGained).toHaveLength(271);
    expect(h.coordinator('a').status()).toMatchObject({ isMaster: true, phase: 'active', pendingPartitions: 0 });
  });

  it('three nodes end with a balanced table that every node holds at the same version', () => {
    const h = cluster(['a', 'b', 'c']);
    expectAllAgree(h);
    const ids = ['a', 'b', 'c'];
    expectBalanced(entries(h, 'a'), 271, ids, 1);
    // A fixed point: the master would not move anything more.
    expect(planRebalance(entries(h, 'a'), computeAssignment(ids.map((nodeId) => ({ nodeId })), 271, 1, entries(h, 'a')))).toEqual([]);
    expect(h.conflicts).toEqual([]);
  });

  it('the first master computes from scratch without migrations when everyone starts together', () => {
    const h = new CoordinatorHarness();
    h.start(['a', 'b', 'c']);
    h.settle();
    expectAllAgree(h);
    expect(h.coordinator('a').table().version).toBe(1);
    expectBalanced(entries(h, 'a'), 271, ['a', 'b', 'c'], 1);
    for (const id of ['a', 'b', 'c']) expect(h.eventsOf(id, 'MigrationStart')).toEqual([]);
  });
});

describe('PartitionCoordinator: a 4th member joins', () => {
  it('about a quarter of the owners migrate to it and the final table is the 4-member assignment', () => {
    const h = cluster(['a', 'b', 'c']);
    const before = entries(h, 'a');
    const expected = computeAssignment(['a', 'b', 'c', 'd'].map((nodeId) => ({ nodeId })), 271, 1, before);
    const startAt = h.delivered.length;
    const ids = ['a', 'b', 'c', 'd'];
    const count = (type: 'MigrationStart' | 'MigrationFinalize' | 'MigrationCancel'): number =>
      ids.filter((id) => h.nodes.has(id)).reduce((n, id) => n + h.eventsOf(id, type).length, 0);
    const startsBefore = count('MigrationStart');
    const finalsBefore = count('MigrationFinalize');
    const cancelsBefore = count('MigrationCancel');
    h.join('d');
    h.settle();
    const after = entries(h, 'a');
    expect(after).toEqual(expected);
    expectAllAgree(h);
    expect(after.filter((a, p) => a.owner !== before[p]!.owner)).toHaveLength(67);
    expect(after.filter((a) => a.owner === 'd')).toHaveLength(67);

    // Every partition that gains d needs one copy: 67 owner moves and 67 backup copies.
    // Each reaches both ends (the master reaches itself locally, so count the events).
    expect(count('MigrationStart') - startsBefore).toBe(2 * 134);
    expect(count('MigrationFinalize') - finalsBefore).toBe(2 * 134);
    expect(count('MigrationCancel') - cancelsBefore).toBe(0);
    expect(h.delivered.slice(startAt).filter((d) => d.message.type === 'MigrateReady')).toHaveLength(134);
    const starts = h.eventsOf('d', 'MigrationStart');
    const finals = h.eventsOf('d', 'MigrationFinalize');
    expect(starts).toHaveLength(134);
    expect(starts.every((s) => s.localRole === 'destination')).toBe(true);
    expect(new Set(finals.map((f) => f.migration.migrationId))).toEqual(new Set(starts.map((s) => s.migration.migrationId)));
    const gained = h.eventsOf('d', 'TableChanged').flatMap((e) => e.localGained);
    expect(gained.filter((g) => g.after === 'owner')).toHaveLength(67);
  });

  it('an owner move raises the epoch by one and announces it in the finalize', () => {
    const h = cluster(['a', 'b', 'c']);
    const before = h.coordinator('a').table().toData();
    h.join('d');
    h.settle();
    const table = h.coordinator('d').table();
    for (const fin of h.eventsOf('d', 'MigrationFinalize')) {
      const p = fin.migration.partition;
      expect(fin.epoch).toBe(table.epoch(p));
      const ownerMoved = fin.migration.role === 'owner';
      expect(table.epoch(p)).toBe(before.assignments[p]!.epoch + (ownerMoved ? 1 : 0));
      expect(fin.migration.epoch).toBe(fin.epoch);
    }
  });

  it('never runs more than migrationsParallelPerNodeMax copies on one node at once', () => {
    const h = cluster(['a', 'b', 'c'], new CoordinatorHarness({ config: { migrationsParallelPerNodeMax: 3 } }));
    let peak = 0;
    h.join('d');
    h.runUntilTrue(() => {
      peak = Math.max(peak, h.node('d').copying.size);
      return h.quiescent();
    });
    expect(peak).toBe(3);
  });

  it('lists migrations for the admin API with their outcome', () => {
    const h = cluster(['a', 'b', 'c'], new CoordinatorHarness({ config: { migrationHistoryMax: 8 } }));
    h.join('d');
    h.runFor(5);
    const running = h.coordinator('a').migrations().filter((m) => m.perspective === 'master' && m.state !== 'finished');
    expect(running.length).toBeGreaterThan(0);
    h.settle();
    const records = h.coordinator('a').migrations();
    expect(records).toHaveLength(8);
    expect(records.some((m) => m.perspective === 'master')).toBe(true);
    for (const r of records) {
      expect(r).toMatchObject({ state: 'finished', outcome: 'completed' });
      expect(r.finishedAt! - r.startedAt).toBeGreaterThanOrEqual(10);
    }
  });
});

describe('PartitionCoordinator: keeping tables fresh', () => {
  it('a member that lost table updates catches up with the periodic fetch', () => {
    let lose = false;
    const h = new CoordinatorHarness({ partitionCount: 61, drop: (_f, to, m) => lose && to === 'c' && m.type === 'PartitionTableUpdate' });
    h.start(['a', 'b', 'c']);
    h.settle();
    lose = true;
    h.crash('b');
    h.runFor(100);
    expect(h.coordinator('c').table().version).toBeLessThan(h.coordinator('a').table().version);
    lose = false;
    h.runFor(5_000);
    expect(h.coordinator('c').table().version).toBe(h.coordinator('a').table().version);
  });

  it('hearing of a newer version fetches within tableFetchMinIntervalMs', () => {
    let lose = false;
    const h = new CoordinatorHarness({ partitionCount: 61, drop: (_f, to, m) => lose && to === 'c' && m.type === 'PartitionTableUpdate' });
    h.start(['a', 'b', 'c']);
    h.settle();
    lose = true;
    h.crash('b');
    h.runFor(100);
    lose = false;
    h.coordinator('c').observeTableVersion(h.coordinator('a').table().version, h.now);
    h.runFor(300);
    expect(h.coordinator('c').table().version).toBe(h.coordinator('a').table().version);
  });

  it('ignores tables and migration orders from a node that is not the master', () => {
    const h = cluster(['a', 'b', 'c']);
    const c = h.coordinator('c');
    const version = c.table().version;
    const forged = { ...h.coordinator('a').table().toData(), version: version + 5 };
    c.handle(h.node('b').address, { type: 'PartitionTableUpdate', table: forged, completedMigrations: [] }, h.now);
    c.handle(
      h.node('b').address,
      { type: 'MigrateStart', migrationId: 'x', partition: 0, source: 'b', destination: 'c', role: 'backup', epoch: 1, tableVersion: version },
      h.now,
    );
    expect(c.table().version).toBe(version);
    expect(c.pollEvent()).toBeUndefined();
    expect(c.status().counters.notFromMaster).toBe(2);
  });

  it('refuses a table from the master that would lower an epoch', () => {
    const h = cluster(['a', 'b']);
    const b = h.coordinator('b');
    const data = b.table().toData();
    const lowered = { ...data, version: data.version + 1, assignments: data.assignments.map((a) => ({ ...a, epoch: 0 })) };
    b.handle(h.node('a').address, { type: 'PartitionTableUpdate', table: lowered, completedMigrations: [] }, h.now);
    expect(b.table().version).toBe(data.version);
    expect(b.status().counters.tablesRejected).toBe(1);
  });

  it('publishes one update object, frozen to the leaves, to every member', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const view = new MembersView({ version: 1, members: ids.map((id, i) => member(id, i)) });
    const master = new PartitionCoordinator({ self: 'a', now: 0, config: { partitionCount: 16, backupCount: 1 } });
    master.onMembersView(view, 0);
    for (const id of ids.slice(1)) master.handle(`${id}.local:7000`, { type: 'FetchPartitionTable', from: id, knownVersion: 0 }, 1);
    const updatesTo = (): Map<string, Message> => {
      const out = new Map<string, Message>();
      for (let t = master.pollTransmit(); t !== undefined; t = master.pollTransmit()) if (t.message.type === 'PartitionTableUpdate') out.set(t.to, t.message);
      return out;
    };
    const deeplyFrozen = (value: unknown): boolean =>
      typeof value !== 'object' || value === null || (Object.isFrozen(value) && Object.values(value).every(deeplyFrozen));
    const first = updatesTo();
    expect([...first.keys()].sort()).toEqual(['b.local:7000', 'c.local:7000', 'd.local:7000']);
    expect(new Set(first.values()).size).toBe(1);
    expect(deeplyFrozen([...first.values()][0])).toBe(true);
    // A death publishes the failover at once, again as one frozen object.
    master.onMembersView(view.withStatus('d', 'dead'), 2);
    const failover = updatesTo();
    expect([...failover.keys()].sort()).toEqual(['b.local:7000', 'c.local:7000']);
    expect(new Set(failover.values()).size).toBe(1);
    expect(deeplyFrozen([...failover.values()][0])).toBe(true);
  });

  it('ignores an older members view', () => {
    const h = cluster(['a', 'b']);
    const old = h.view.without('b');
    h.join('c');
    h.coordinator('a').onMembersView(old.toData(), h.now);
    expect(h.coordinator('a').status().counters.staleViews).toBe(1);
  });
});
