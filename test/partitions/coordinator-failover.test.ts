// The partition coordinator when things go wrong: an owner crashes, a migration's
// destination dies or stalls, a participant fails, the master dies mid-plan, members
// leave or turn suspect, and every replica of a partition is lost.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/model.js';
import { DEFAULT_COORDINATOR_CONFIG, NO_OWNER, type ReplicaAssignment } from '../../src/partitions/index.js';
import { SeededRandom } from '../../src/core/random.js';
import { CoordinatorHarness, type HarnessOptions } from './coordinator-harness.js';
import { expectBalanced } from './fixtures.js';

const P = 61;

function formed(ids: readonly NodeId[], options: HarnessOptions = {}): CoordinatorHarness {
  const h = new CoordinatorHarness({ partitionCount: P, ...options });
  h.start(ids);
  h.settle();
  return h;
}

function entries(h: CoordinatorHarness, id: NodeId): ReplicaAssignment[] {
  return h.coordinator(id).table().assignments().map(({ partition, owner, backups }) => ({ partition, owner, backups }));
}

function expectConverged(h: CoordinatorHarness, ids: readonly NodeId[], partitionCount = P): void {
  const reference = JSON.stringify(h.masterNode().coordinator.table().toData());
  for (const node of h.liveNodes()) expect(JSON.stringify(node.coordinator.table().toData())).toBe(reference);
  expectBalanced(entries(h, h.masterNode().id), partitionCount, ids, 1);
  expect(h.conflicts).toEqual([]);
}

describe('PartitionCoordinator: an owner crashes', () => {
  it('promotes first backups at once (epoch + 1), then restores the backup count', () => {
    const h = formed(['a', 'b', 'c']);
    const before = h.coordinator('a').table().toData();
    h.crash('b');
    const table = h.coordinator('a').table();
    expect(table.version).toBe(before.version + 1);
    for (const old of before.assignments) {
      const p = old.partition;
      if (old.owner === 'b') {
        expect(table.owner(p)).toBe(old.backups[0]);
        expect(table.epoch(p)).toBe(old.epoch + 1);
      } else {
        expect(table.owner(p)).toBe(old.owner);
        expect(table.epoch(p)).toBe(old.epoch);
      }
      expect(table.backups(p)).not.toContain('b');
    }
    h.runFor(1);
    expect(h.coordinator('c').table().version).toBe(before.version + 1);
    h.settle();
    expectConverged(h, ['a', 'c']);
    expect(h.coordinator('a').table().assignments().every((a) => a.backups.length === 1)).toBe(true);
    expect(h.eventsOf('c', 'MigrationStart').length + h.eventsOf('a', 'MigrationStart').length).toBeGreaterThan(0);
  });

  it('a lone survivor owns everything with no backups', () => {
    const h = formed(['a', 'b']);
    h.crash('a');
    h.settle();
    const table = h.coordinator('b').table();
    for (let p = 0; p < P; p++) {
      expect(table.owner(p)).toBe('b');
      expect(table.backups(p)).toEqual([]);
    }
  });

  it('without backups a lost partition is published unowned, then reassigned', () => {
    const h = formed(['a', 'b', 'c'], { backupCount: 0 });
    const lost = h.coordinator('a').table().partitionsForNode('b').owned;
    const version = h.coordinator('a').table().version;
    h.crash('b');
    h.settle();
    const unowned = h.published.get(version + 1)!.table.assignments.filter((a) => a.owner === NO_OWNER).map((a) => a.partition);
    expect(unowned).toEqual(lost);
    const table = h.coordinator('a').table();
    expect(table.unowned()).toEqual([]);
    for (const p of lost) expect(['a', 'c']).toContain(table.owner(p));
    for (const p of lost) expect(table.epoch(p)).toBe(h.published.get(version)!.table.assignments[p]!.epoch + 2);
  });
});

describe('PartitionCoordinator: migrations that do not finish', () => {
  it('a destination that dies mid-migration gets its migrations cancelled, the table unchanged for them, and a new plan', () => {
    const h = formed(['a', 'b', 'c'], { copyMs: () => 1_000 });
    const before = h.coordinator('a').table().toData();
    h.join('d');
    h.runFor(100);
    const inFlight = h.coordinator('a').migrations().filter((m) => m.perspective === 'master' && m.state === 'running');
    expect(inFlight.length).toBeGreaterThan(0);
    h.crash('d');
    h.runFor(1);
    for (const m of inFlight) {
      const cancel = h.eventsOf(m.source, 'MigrationCancel').find((e) => e.migration.migrationId === m.migrationId);
      expect(cancel?.reason).toBe('participant left');
      expect(h.coordinator('a').table().assignment(m.partition)).toEqual(before.assignments[m.partition]);
    }
    const records = h.coordinator('a').migrations().filter((m) => m.perspective === 'master');
    expect(records.filter((m) => m.outcome === 'cancelled')).toHaveLength(inFlight.length);
    h.settle();
    expectConverged(h, ['a', 'b', 'c']);
  });

  it('a migration that times out is cancelled on both sides and retried', () => {
    let first = true;
    const copyMs = (): number | undefined => {
      if (!first) return 10;
      first = false;
      return undefined;
    };
    const h = formed(['a', 'b', 'c'], { copyMs, config: { migrationTimeoutMs: 5_000 } });
    h.join('d');
    h.settle();
    const timedOut = h.coordinator('a').migrations().filter((m) => m.outcome === 'timed-out');
    expect(timedOut).toHaveLength(1);
    const stuck = timedOut[0]!;
    expect(stuck.finishedAt! - stuck.startedAt).toBe(5_000);
    for (const side of [stuck.source, stuck.destination]) {
      const cancel = h.eventsOf(side, 'MigrationCancel').find((e) => e.migration.migrationId === stuck.migrationId);
      expect(cancel?.reason).toBe('timed out');
    }
    expect(h.coordinator('a').status().counters.migrationsTimedOut).toBe(1);
    expectConverged(h, ['a', 'b', 'c', 'd']);
  });

  it('a participant that fails reports it; the master cancels the other side and retries', () => {
    const h = formed(['a', 'b', 'c'], { copyMs: () => undefined });
    h.join('d');
    h.runFor(5);
    const [start] = h.eventsOf('d', 'MigrationStart');
    const id = start!.migration.migrationId;
    expect(h.coordinator('d').localMigrationFailed(id, 'disk full', h.now)).toBe(true);
    h.node('d').copying.delete(id);
    h.node('d').open.delete(id);
    h.flush('d');
    h.runFor(5);
    const cancel = h.eventsOf(start!.migration.source, 'MigrationCancel').find((e) => e.migration.migrationId === id);
    expect(cancel?.reason).toBe('disk full');
    expect(h.coordinator('a').status().counters.migrationsFailed).toBe(1);
    // Still unknown to the master afterwards: a second report is refused.
    expect(h.coordinator('d').localMigrationFailed(id, 'again', h.now)).toBe(false);
  });

  it('a partition that keeps failing is parked until the next view change', () => {
    const h = formed(['a', 'b', 'c'], { copyMs: () => undefined, config: { migrationTimeoutMs: 100, handoverTimeoutMs: 50, migrationAttemptsMax: 2, migrationRetryDelayMs: 10 } });
    h.join('d');
    h.runFor(10_000);
    const status = h.coordinator('a').status();
    expect(status.pendingPartitions).toBe(0);
    expect(status.parkedPartitions.length).toBeGreaterThan(0);
    expect(status.migrationsInFlight).toBe(0);
  });

  it('never has more than migrationsInFlightMax migrations running', () => {
    const h = formed(['a', 'b', 'c'], { config: { migrationsInFlightMax: 1 } });
    let peak = 0;
    h.join('d');
    h.runUntilTrue(() => {
      peak = Math.max(peak, h.coordinator('a').status().migrationsInFlight);
      return h.quiescent();
    });
    expect(peak).toBe(1);
    expectConverged(h, ['a', 'b', 'c', 'd']);
  });
});

describe('PartitionCoordinator: the master dies mid-plan', () => {
  it('the next master continues from the newest table and completes the rebalance', () => {
    const h = formed(['a', 'b', 'c'], { copyMs: () => 50 });
    h.join('d');
    h.runFor(120);
    expect(h.coordinator('a').status().pendingPartitions).toBeGreaterThan(0);
    const lastByA = h.coordinator('a').table().version;
    h.crash('a');
    h.settle();
    expect(h.coordinator('b').isMaster()).toBe(true);
    expect(h.coordinator('b').table().version).toBeGreaterThan(lastByA);
    expectConverged(h, ['b', 'c', 'd']);
    for (const id of ['b', 'c', 'd']) expect(h.node(id).copying.size).toBe(0);
  });

  it('finishes the handover soon after a lagging member learns of the new master, not at the timeout', () => {
    const h = formed(['a', 'b', 'c']);
    h.node('a').up = false;
    const after = h.view.without('a');
    h.view = after;
    // b learns first; c's view still names a, so it ignores b's first handover fetch.
    h.coordinator('b').onMembersView(after, h.now);
    h.flush('b');
    expect(h.coordinator('b').status().phase).toBe('syncing');
    // c learns just after b's first ask, which it ignored.
    h.runFor(5);
    expect(h.coordinator('b').status().phase).toBe('syncing');
    const learnedAt = h.now;
    h.coordinator('c').onMembersView(after, h.now);
    h.flush('c');
    h.runUntilTrue(() => h.coordinator('b').status().phase === 'active');
    // b asks again within tens of ms (its asks start 50 ms apart), and c's answer to a just
    // before does not hold back its first answer to b: not a whole resend interval.
    expect(h.now - learnedAt).toBeLessThan(DEFAULT_COORDINATOR_CONFIG.tableFetchMinIntervalMs / 4);
    h.settle();
    expectConverged(h, ['b', 'c']);
  });

  it('takes over a table the old master published to others but not to it', () => {
    let dropToB = false;
    const h = formed(['a', 'b', 'c'], {
      copyMs: () => 20,
      drop: (from, to, m) => dropToB && from === 'a' && to === 'b' && m.type === 'PartitionTableUpdate',
    });
    h.join('d');
    h.runFor(50);
    dropToB = true;
    h.runFor(50);
    const newest = h.coordinator('c').table().version;
    expect(h.coordinator('b').table().version).toBeLessThan(newest);
    h.crash('a');
    h.runUntilTrue(() => h.coordinator('b').status().phase === 'active');
    expect(h.coordinator('b').table().version).toBeGreaterThanOrEqual(newest);
    h.settle();
    expectConverged(h, ['b', 'c', 'd']);
  });

  it('a member settles what the old master committed but never finalized', () => {
    let cut = false;
    const h = formed(['a', 'b', 'c'], {
      copyMs: () => 20,
      drop: (from, to, m) => cut && from === 'a' && to === 'd' && (m.type === 'PartitionTableUpdate' || m.type === 'MigrateFinalize'),
    });
    h.join('d');
    h.runUntilTrue(() => h.node('d').copying.size > 0);
    cut = true;
    // Let the copies land and the master commit them (d hears nothing of it).
    h.runFor(25);
    const orphaned = [...h.delivered.filter((x) => x.to === 'a' && x.from === 'd' && x.message.type === 'MigrateReady')];
    expect(orphaned.length).toBeGreaterThan(0);
    h.crash('a');
    h.settle();
    for (const ready of orphaned) {
      const id = ready.message.type === 'MigrateReady' ? ready.message.migrationId : '';
      expect(h.eventsOf('d', 'MigrationFinalize').some((f) => f.migration.migrationId === id)).toBe(true);
    }
    expectConverged(h, ['b', 'c', 'd']);
  });
});

describe('PartitionCoordinator: orders from another mastership', () => {
  it('a master that loses and regains its place leaves no migration behind', () => {
    // Orders of the first mastership are still in flight when the second begins.
    const rng = new SeededRandom(1);
    const h = new CoordinatorHarness({ partitionCount: 31, delayMs: () => 1 + rng.int(20), copyMs: () => 5 + rng.int(100) });
    h.join('n0');
    h.runFor(rng.int(50));
    h.join('n1');
    h.setStatus('n0', 'suspect');
    h.join('n2');
    h.setStatus('n0', 'active');
    h.settle();
    expect(h.coordinator('n0').isMaster()).toBe(true);
    expectConverged(h, ['n0', 'n1', 'n2'], 31);
  });

  it('a ready report for a migration the master does not run is answered with a cancel', () => {
    const h = formed(['a', 'b']);
    const b = h.coordinator('b');
    const version = b.table().version;
    b.handle(
      h.node('a').address,
      { type: 'MigrateStart', migrationId: 'ghost', partition: 0, source: 'a', destination: 'b', role: 'backup', epoch: 1, tableVersion: version },
      h.now,
    );
    h.flush('b');
    // The fake driver copies in 10 ms and reports ready; the master answers.
    h.runFor(20);
    expect(h.eventsOf('b', 'MigrationCancel')).toMatchObject([{ migration: { migrationId: 'ghost' }, reason: 'unknown migration' }]);
    expect(b.status().localMigrations).toBe(0);
  });
});

describe('PartitionCoordinator: leaving and suspect members', () => {
  it('drains a leaving member: it ends holding nothing, with no copy lost on the way', () => {
    const h = formed(['a', 'b', 'c', 'd']);
    h.setStatus('d', 'leaving');
    h.settle();
    const held = h.coordinator('a').table().partitionsForNode('d');
    expect(held).toEqual({ owned: [], backups: [] });
    expect(h.eventsOf('d', 'MigrationStart').every((s) => s.localRole === 'source')).toBe(true);
    const lost = h.eventsOf('d', 'TableChanged').flatMap((e) => e.localLost);
    expect(lost.length).toBeGreaterThan(0);
    expectBalanced(entries(h, 'a'), P, ['a', 'b', 'c'], 1);
  });

  it('leaves a suspect member its partitions', () => {
    const h = formed(['a', 'b', 'c']);
    const version = h.coordinator('a').table().version;
    h.setStatus('b', 'suspect');
    h.settle();
    expect(h.coordinator('a').table().version).toBe(version);
  });

  it('a suspect master hands over to the next oldest, which keeps the table', () => {
    const h = formed(['a', 'b', 'c']);
    const version = h.coordinator('a').table().version;
    h.setStatus('a', 'suspect');
    h.settle();
    expect(h.coordinator('b').isMaster()).toBe(true);
    expect(h.coordinator('a').isMaster()).toBe(false);
    expect(h.coordinator('b').table().version).toBe(version);
  });
});
