/**
 * The partition events a node acts on, at debug level: which tables it took and what each
 * cost or gave it, and each migration it took part in. Data leaves a node only through
 * these, so this is the trail an operator follows when a key went missing.
 */
import type { Logger } from '../core/logger.js';
import type { LocalRoleChange, PartitionEvent } from '../partitions/coordinator-events.js';

/** Roles as `partition:before>after@epoch`, compact enough for a line per table. */
function roles(changes: readonly LocalRoleChange[]): string {
  return changes.map((c) => `${c.partition}:${c.before}>${c.after}@${c.epoch}`).join(' ');
}

export function tracePartitionEvent(logger: Logger, event: PartitionEvent): void {
  switch (event.type) {
    case 'TableChanged':
      logger.debug(
        { event: event.type, version: event.version, previousVersion: event.previousVersion, changed: event.changedPartitions.length, gained: roles(event.localGained), lost: roles(event.localLost) },
        'partition table taken',
      );
      return;
    case 'LineageDiverged':
      logger.debug({ event: event.type, master: event.master, masterTableVersion: event.masterTableVersion, tableVersion: event.table.version, lineage: event.table.lineage }, 'table lineage diverged');
      return;
    default: {
      const m = event.migration;
      logger.debug(
        {
          event: event.type,
          migrationId: m.migrationId,
          partition: m.partition,
          source: m.source,
          destination: m.destination,
          role: m.role,
          side: event.localRole,
          epoch: event.type === 'MigrationFinalize' ? event.epoch : m.epoch,
          ...(event.type === 'MigrationCancel' ? { reason: event.reason } : {}),
        },
        'migration event',
      );
    }
  }
}
