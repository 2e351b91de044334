// MigrationHistory's totals: monotonic counts by perspective and outcome, unaffected by
// how many finished records the history keeps.
import { describe, expect, it } from 'vitest';
import { MigrationHistory, type MigrationPerspective } from '../../src/partitions/migration-history.js';

function start(history: MigrationHistory, id: string, perspective: MigrationPerspective): void {
  history.start({ migrationId: id, partition: 1, source: 'a', destination: 'b', role: 'owner', perspective, startedAt: 0 });
}

describe('MigrationHistory totals', () => {
  it.each([0, 1, 8])('counts starts and ends by perspective and outcome (historyMax %i)', (historyMax) => {
    const history = new MigrationHistory(historyMax);
    start(history, 'm1', 'master');
    start(history, 'm1', 'master');
    start(history, 'm1', 'source');
    start(history, 'm2', 'destination');
    start(history, 'm3', 'master');
    history.finish('master', 'm1', 'completed', 5);
    history.finish('master', 'm1', 'completed', 6);
    history.finish('source', 'm1', 'completed', 5);
    history.finish('destination', 'm2', 'failed', 5, 'disk full');
    history.finish('master', 'm3', 'abandoned', 5);
    history.finish('master', 'unknown', 'cancelled', 5);
    const totals = history.totals();
    expect(totals.started).toEqual({ master: 2, source: 1, destination: 1 });
    expect(totals.finished.master).toEqual({ completed: 1, cancelled: 0, 'timed-out': 0, failed: 0, abandoned: 1 });
    expect(totals.finished.source).toEqual({ completed: 1, cancelled: 0, 'timed-out': 0, failed: 0, abandoned: 0 });
    expect(totals.finished.destination).toEqual({ completed: 0, cancelled: 0, 'timed-out': 0, failed: 1, abandoned: 0 });
  });

  it('hands out copies: a caller cannot change the counts', () => {
    const history = new MigrationHistory(4);
    start(history, 'm1', 'master');
    const totals = history.totals() as { started: Record<string, number> };
    totals.started.master = 99;
    expect(history.totals().started.master).toBe(1);
  });
});
