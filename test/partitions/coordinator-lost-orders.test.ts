// The partition coordinator when a migration's last order never arrives: a participant
// still waiting asks the master (MigrateQuery) and settles from its answer (MigrateStatus)
// and the master's table, well before any migration timeout.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/core/model.js';
import { DEFAULT_COORDINATOR_CONFIG } from '../../src/partitions/index.js';
import { CANCELLED_REASON } from '../../src/partitions/migration-local.js';
import { CoordinatorHarness, type HarnessOptions } from './coordinator-harness.js';

const P = 31;
const QUERY_MS = DEFAULT_COORDINATOR_CONFIG.tableRefreshIntervalMs;

function formed(ids: readonly NodeId[], options: HarnessOptions = {}): CoordinatorHarness {
  const h = new CoordinatorHarness({ partitionCount: P, ...options });
  h.start(ids);
  h.settle();
  return h;
}

describe('PartitionCoordinator: lost orders', () => {
  it('a question from a destination whose MigrateReady was lost counts as the report', () => {
    const h = formed(['a', 'b', 'c'], { drop: (from, to, m) => from === 'd' && to === 'a' && m.type === 'MigrateReady' });
    const joinedAt = h.now;
    h.join('d');
    h.settle();
    const master = h.coordinator('a').status().counters;
    expect(master.migrationsTimedOut).toBe(0);
    expect(h.eventsOf('d', 'MigrationFinalize').length).toBeGreaterThan(0);
    // Every wave waited one question, not the 60 s migration timeout.
    expect(h.now - joinedAt).toBeLessThan(DEFAULT_COORDINATOR_CONFIG.migrationTimeoutMs);
    expect(h.delivered.some((d) => d.from === 'd' && d.message.type === 'MigrateQuery')).toBe(true);
    // Asked about migrations it still ran, the master answered nothing.
    expect(h.delivered.some((d) => d.message.type === 'MigrateStatus')).toBe(false);
  });

  it('a question from a destination still copying does not count as ready: nothing commits', () => {
    const h = formed(['a', 'b', 'c'], { copyMs: (_info, destination) => (destination === 'd' ? undefined : 10) });
    const completed = h.coordinator('a').status().counters.migrationsCompleted;
    h.join('d');
    h.runFor(3 * QUERY_MS);
    expect(h.delivered.filter((d) => d.from === 'd' && d.message.type === 'MigrateQuery').length).toBeGreaterThan(0);
    expect(h.delivered.every((d) => d.message.type !== 'MigrateQuery' || !d.message.ready)).toBe(true);
    expect(h.eventsOf('d', 'MigrationFinalize')).toEqual([]);
    expect(h.coordinator('a').status().counters.migrationsCompleted).toBe(completed);
    expect(h.coordinator('a').table().partitionsForNode('d').owned).toEqual([]);
  });

  it('a ready copy whose cancel was never sent (the master held it dead) asks, hears "cancelled", and lets go', () => {
    // Without the question the copies would stay ready forever and the harness never settle.
    let cut = false;
    const h = formed(['a', 'b', 'c'], {
      copyMs: () => 20,
      drop: (from, to) => cut && ((from === 'a' && to === 'd') || (from === 'd' && to === 'a')),
    });
    h.join('d');
    h.runUntilTrue(() => h.node('d').copying.size > 0);
    cut = true;
    h.runFor(25);
    const ready = h.node('d').coordinator.migrations().filter((m) => m.perspective === 'destination' && m.state === 'ready').map((m) => m.migrationId);
    expect(ready.length).toBeGreaterThan(0);
    // The master calls them off without telling d, which it holds dead.
    h.setStatus('d', 'dead');
    h.runFor(100);
    cut = false;
    // Back, but leaving: no later copy gives it the same partitions, which would settle the
    // old copies by their table instead.
    h.setStatus('d', 'leaving');
    h.settle();
    const cancels = h.eventsOf('d', 'MigrationCancel').filter((e) => ready.includes(e.migration.migrationId));
    expect(cancels.map((e) => e.migration.migrationId).sort()).toEqual([...ready].sort());
    for (const e of cancels) expect(e.reason).toBe(CANCELLED_REASON);
    expect(h.coordinator('d').status().localMigrations).toBe(0);
  });

  it('answers a question about a migration it never ran with "unknown" and its table version', () => {
    const h = formed(['a', 'b']);
    const a = h.coordinator('a');
    a.handle(h.node('b').address, { type: 'MigrateQuery', migrationId: 'ghost', partition: 3, ready: true }, h.now);
    h.flush('a');
    h.runFor(5);
    expect(h.delivered.filter((d) => d.message.type === 'MigrateStatus').map((d) => d.message)).toEqual([
      { type: 'MigrateStatus', migrationId: 'ghost', partition: 3, verdict: 'unknown', tableVersion: a.table().version },
    ]);
  });

  it('the question waits an interval: a healthy migration never causes one', () => {
    const h = formed(['a', 'b', 'c']);
    h.join('d');
    h.settle();
    expect(h.now).toBeLessThan(QUERY_MS);
    expect(h.delivered.some((d) => d.message.type === 'MigrateQuery' || d.message.type === 'MigrateStatus')).toBe(false);
  });
});
