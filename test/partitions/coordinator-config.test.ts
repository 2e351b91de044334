// Coordinator configuration: the defaults are valid, every field is range-checked, and
// the cross-field rules hold.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DEFAULT_COORDINATOR_CONFIG, resolveCoordinatorConfig, type CoordinatorConfig } from '../../src/partitions/index.js';

describe('resolveCoordinatorConfig', () => {
  it('returns the defaults when given nothing', () => {
    expect(resolveCoordinatorConfig()).toEqual(DEFAULT_COORDINATOR_CONFIG);
  });

  it('applies overrides', () => {
    const config = resolveCoordinatorConfig({ migrationTimeoutMs: 10_000, backupCount: 2 });
    expect(config.migrationTimeoutMs).toBe(10_000);
    expect(config.backupCount).toBe(2);
    expect(config.partitionCount).toBe(271);
  });

  const invalid: [string, Partial<CoordinatorConfig>][] = [
    ['a zero migration timeout', { migrationTimeoutMs: 0 }],
    ['a fractional retry delay', { migrationRetryDelayMs: 1.5 }],
    ['no attempts', { migrationAttemptsMax: 0 }],
    ['a negative coalescing time', { commitCoalesceMs: -1 }],
    ['a zero refresh interval', { tableRefreshIntervalMs: 0 }],
    ['no in-flight migrations', { migrationsInFlightMax: 0 }],
    ['a NaN history length', { migrationHistoryMax: Number.NaN }],
    ['no room for transmits', { transmitsPendingMax: 0 }],
    ['no room for events', { eventsPendingMax: 0 }],
    ['a bad partition count', { partitionCount: 0 }],
    ['a fetch floor above the refresh interval', { tableFetchMinIntervalMs: 6_000, tableRefreshIntervalMs: 5_000 }],
    ['a handover as long as a migration', { handoverTimeoutMs: 60_000, migrationTimeoutMs: 60_000 }],
    ['commits held as long as a migration', { commitCoalesceMs: 60_000 }],
    ['fewer local slots than migrations in flight', { localMigrationsMax: 10, migrationsInFlightMax: 11 }],
  ];
  it.each(invalid)('refuses %s', (_name, overrides) => {
    let error: unknown;
    try {
      resolveCoordinatorConfig(overrides);
    } catch (err) {
      error = err;
    }
    expect(isFlotillaError(error, 'FLO_CONFIG_INVALID')).toBe(true);
  });
});
