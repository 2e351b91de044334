/**
 * The master's memory of how its recent migrations ended, so that a participant whose
 * `MigrateFinalize` or `MigrateCancel` was lost can ask (`MigrateQuery`) and hear the
 * outcome. Bounded: the oldest entries go first, and a forgotten one is answered
 * `unknown`, which a participant settles from the master's table instead.
 */
import type { MigrationVerdict } from '../protocol/messages.js';

/**
 * Finished migrations a mastership remembers. A copy whose order was lost asks again every
 * `tableRefreshIntervalMs`, so a few thousand cover the busiest rebalance between two
 * questions; each entry is a short id and a word.
 */
export const MIGRATION_VERDICTS_MAX = 4_096;

/** How finished migrations ended, newest last, at most `max` of them. */
export class MigrationVerdicts {
  private readonly byId = new Map<string, Exclude<MigrationVerdict, 'unknown'>>();

  constructor(private readonly max: number = MIGRATION_VERDICTS_MAX) {}

  /** Record how migration `migrationId` ended. */
  record(migrationId: string, verdict: Exclude<MigrationVerdict, 'unknown'>): void {
    this.byId.delete(migrationId);
    this.byId.set(migrationId, verdict);
    if (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value!);
  }

  /** How it ended, or `unknown` when it is not (or no longer) remembered. */
  verdictOf(migrationId: string): MigrationVerdict {
    return this.byId.get(migrationId) ?? 'unknown';
  }

  /** Entries held. */
  get size(): number {
    return this.byId.size;
  }
}
