// A node's own side of migrations: taking starts, refusing what it cannot take, and
// settling orphans against the next master's table, and settling what a lost finalize
// or cancel left behind.
import { describe, expect, it } from 'vitest';
import type { MigrateStart, MigrateStatus, MigrationVerdict } from '../../src/protocol/messages.js';
import { ClusterPartitionTable } from '../../src/partitions/index.js';
import { CANCELLED_REASON, GONE_REASON, LocalMigrations, MASTER_CHANGED_REASON, MOVED_ON_REASON, STALE_REASON } from '../../src/partitions/migration-local.js';
import { MigrationHistory } from '../../src/partitions/migration-history.js';

const STALE_MS = 1_000;
const QUERY_MS = 5_000;

function status(migrationId: string, partition: number, verdict: MigrationVerdict, tableVersion: number): MigrateStatus {
  return { type: 'MigrateStatus', migrationId, partition, verdict, tableVersion };
}

/** A table at `version` whose partition 0 is owned by `owner` with `backups`. */
function tableAt(version: number, owner: string, backups: string[] = []): ClusterPartitionTable {
  const table = new ClusterPartitionTable(1);
  for (let v = 0; v < version; v++) table.applyAssignments([{ partition: 0, owner: v === version - 1 ? owner : `o${v}`, backups }]);
  return table;
}

function start(migrationId: string, partition: number, source = 'a', destination = 'me'): MigrateStart {
  return { type: 'MigrateStart', migrationId, partition, source, destination, role: 'owner', epoch: 2, tableVersion: 1 };
}

describe('LocalMigrations', () => {
  it('takes a start it is part of, once, and refuses beyond its maximum', () => {
    const local = new LocalMigrations('me', 2, new MigrationHistory(8), STALE_MS, QUERY_MS);
    expect(local.start(start('m1', 0), 0)).toMatchObject({ type: 'MigrationStart', localRole: 'destination' });
    expect(local.start(start('m1', 0), 0)).toBe('duplicate');
    expect(local.start(start('m2', 1, 'x', 'y'), 0)).toBe('not-participant');
    expect(local.start(start('m3', 1, 'me', 'y'), 0)).toMatchObject({ localRole: 'source' });
    expect(local.start(start('m4', 2), 0)).toBe('full');
  });

  it('only a running destination can report ready, once', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.start(start('m2', 1, 'me', 'y'), 0);
    expect(local.markReady('m2', 0)).toBeUndefined();
    expect(local.markReady('m1', 0)?.state).toBe('ready');
    expect(local.markReady('m1', 0)).toBeUndefined();
  });

  it('settles orphans: finalized when the table lists the destination in its role, else cancelled', () => {
    const history = new MigrationHistory(8);
    const local = new LocalMigrations('me', 8, history, STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.start(start('m2', 1), 0);
    local.orphanAll(500);
    expect(local.hasOrphans()).toBe(true);
    expect(local.nextDeadline()).toBe(500);
    const table = new ClusterPartitionTable(2);
    table.applyAssignments([
      { partition: 0, owner: 'me', backups: [] },
      { partition: 1, owner: 'a', backups: [] },
    ]);
    const events = local.resolveOrphans(table, 10);
    expect(events.map((e) => [e.type, 'migration' in e ? e.migration.migrationId : ''])).toEqual([
      ['MigrationFinalize', 'm1'],
      ['MigrationCancel', 'm2'],
    ]);
    expect(events[1]).toMatchObject({ reason: MASTER_CHANGED_REASON });
    expect(local.size).toBe(0);
    expect(history.list().map((r) => r.outcome)).toEqual(['completed', 'cancelled']);
  });

  it('cancels orphans whose deadline passes', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.orphanAll(500);
    expect(local.expireOrphans(499)).toEqual([]);
    expect(local.expireOrphans(500)).toMatchObject([{ type: 'MigrationCancel', reason: MASTER_CHANGED_REASON }]);
  });

  it('finalizes the migrations a table update lists as completed', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    const table = new ClusterPartitionTable(1);
    table.applyAssignments([{ partition: 0, owner: 'me', backups: [] }]);
    expect(local.completed(['m0', 'm1'], table, 5)).toMatchObject([{ type: 'MigrationFinalize', epoch: 1 }]);
    expect(local.finalize('m1', 1, 6)).toBeUndefined();
  });

  it('finalizes, when a table shows the commit, a ready copy and a source whose MigrateFinalize was lost', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('in-ready', 0), 0);
    local.markReady('in-ready', 0);
    local.start(start('in-running', 1), 0);
    local.start(start('out', 2, 'me', 'b'), 0);
    local.start(start('out-pending', 3, 'me', 'b'), 0);
    const table = new ClusterPartitionTable(4);
    table.applyAssignments([
      { partition: 0, owner: 'me', backups: [] },
      { partition: 1, owner: 'me', backups: [] },
      { partition: 2, owner: 'b', backups: [] },
      { partition: 3, owner: 'me', backups: [] },
    ]);
    const events = local.settleCommitted(table, 5);
    expect(events.map((e) => [e.type, 'migration' in e ? e.migration.migrationId : ''])).toEqual([
      ['MigrationFinalize', 'in-ready'],
      ['MigrationFinalize', 'out'],
    ]);
    expect(local.size).toBe(2);
  });

  it('calls off an incoming copy still short of ready after the stale bound, and only that', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('in-running', 0), 100);
    local.start(start('in-ready', 1), 100);
    local.markReady('in-ready', 100);
    local.start(start('out', 2, 'me', 'b'), 100);
    expect(local.nextDeadline()).toBe(100 + STALE_MS);
    expect(local.expireStale(100 + STALE_MS - 1)).toEqual([]);
    expect(local.expireStale(100 + STALE_MS)).toMatchObject([{ type: 'MigrationCancel', reason: STALE_REASON, migration: { migrationId: 'in-running' } }]);
    // What is left waits for its order, and asks the master about it then.
    expect(local.nextDeadline()).toBe(100 + QUERY_MS);
    expect(local.size).toBe(2);
  });

  it('asks about a migration an interval after it started (a destination: after it became ready), then every interval', () => {
    // As configured, a copy is called off as stale long after its first question.
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), 12 * QUERY_MS, QUERY_MS);
    local.start(start('in', 0), 0);
    local.start(start('out', 1, 'me', 'b'), 0);
    local.start(start('copying', 2), 2_000);
    local.markReady('in', 700);
    expect(local.dueQueries(QUERY_MS - 1)).toEqual([]);
    expect(local.dueQueries(QUERY_MS).map((m) => m.info.migrationId)).toEqual(['out']);
    expect(local.nextDeadline()).toBe(700 + QUERY_MS);
    expect(local.dueQueries(700 + QUERY_MS).map((m) => m.info.migrationId)).toEqual(['in']);
    expect(local.dueQueries(2_000 + QUERY_MS).map((m) => m.info.migrationId)).toEqual(['copying']);
    expect(local.dueQueries(2 * QUERY_MS).map((m) => m.info.migrationId)).toEqual(['out']);
    local.orphanAll(99_999);
    expect(local.dueQueries(10 * QUERY_MS)).toEqual([]);
  });

  it('calls a ready copy off when the master says it cancelled it', () => {
    const history = new MigrationHistory(8);
    const local = new LocalMigrations('me', 8, history, STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    const events = local.onStatus(status('m1', 0, 'cancelled', 3), tableAt(5, 'a'), 10);
    expect(events).toMatchObject([{ type: 'MigrationCancel', reason: CANCELLED_REASON, localRole: 'destination' }]);
    expect(history.list().map((r) => r.outcome)).toEqual(['cancelled']);
  });

  it('calls off a copy that never became ready on any answer: it cannot have committed', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    expect(local.onStatus(status('m1', 0, 'committed', 3), tableAt(3, 'me'), 10)).toMatchObject([
      { type: 'MigrationCancel', reason: GONE_REASON, localRole: 'destination' },
    ]);
  });

  it('ignores an answer about another partition or an unknown id', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    expect(local.onStatus(status('m1', 1, 'cancelled', 3), tableAt(3, 'a'), 10)).toEqual([]);
    expect(local.onStatus(status('m9', 0, 'cancelled', 3), tableAt(3, 'a'), 10)).toEqual([]);
    expect(local.size).toBe(1);
  });

  it('after committed or unknown, settles from a table at least as new as the answer: finalized when it holds the role', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    // Behind the master's table: wait for it.
    expect(local.onStatus(status('m1', 0, 'committed', 4), tableAt(3, 'a'), 10)).toEqual([]);
    expect(local.settleAnswered(tableAt(3, 'a'), 11)).toEqual([]);
    expect(local.settleAnswered(tableAt(4, 'me'), 12)).toMatchObject([{ type: 'MigrationFinalize', epoch: 4 }]);
    expect(local.size).toBe(0);
  });

  it('after committed or unknown, calls the copy off when the table has moved past it', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    local.start(start('m2', 0, 'me', 'b'), 0);
    expect(local.onStatus(status('m1', 0, 'unknown', 6), tableAt(6, 'c', ['me']), 10)).toMatchObject([
      { type: 'MigrationCancel', reason: MOVED_ON_REASON, migration: { migrationId: 'm1' } },
    ]);
    // A source is settled the same way: the destination does not hold the role, so it keeps its data.
    expect(local.onStatus(status('m2', 0, 'committed', 6), tableAt(6, 'c'), 10)).toMatchObject([{ type: 'MigrationCancel', localRole: 'source' }]);
  });

  it('does not use an answer when its own table is newer than the master\'s (another lineage)', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    expect(local.onStatus(status('m1', 0, 'unknown', 4), tableAt(7, 'c'), 10)).toEqual([]);
    expect(local.settleAnswered(tableAt(8, 'c'), 11)).toEqual([]);
    expect(local.size).toBe(1);
  });

  it('forgets an answer when the master changes: the new master\'s table settles the orphan', () => {
    const local = new LocalMigrations('me', 8, new MigrationHistory(8), STALE_MS, QUERY_MS);
    local.start(start('m1', 0), 0);
    local.markReady('m1', 0);
    local.onStatus(status('m1', 0, 'unknown', 9), tableAt(3, 'c'), 10);
    local.orphanAll(500);
    expect(local.settleAnswered(tableAt(9, 'c'), 11)).toEqual([]);
    expect(local.resolveOrphans(tableAt(9, 'c'), 12)).toMatchObject([{ type: 'MigrationCancel', reason: MASTER_CHANGED_REASON }]);
  });
});
