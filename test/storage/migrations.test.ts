// The migration list and the rule for which migrations a database still needs.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { checkMigrationList, MIGRATIONS, pendingMigrations, SCHEMA_VERSION } from '../../src/storage/migrations.js';
import type { Migration } from '../../src/storage/migrations.js';

const list: Migration[] = [1, 2, 3].map((version) => ({ version, name: `m${version}`, sqlite: '', postgres: '' }));

describe('pendingMigrations', () => {
  const cases: { applied: number[]; pending: number[] }[] = [
    { applied: [], pending: [1, 2, 3] },
    { applied: [1], pending: [2, 3] },
    { applied: [1, 2], pending: [3] },
    { applied: [1, 2, 3], pending: [] },
    { applied: [2, 1], pending: [3] },
  ];
  for (const c of cases) {
    it(`applied [${c.applied.join(', ')}] -> pending [${c.pending.join(', ')}]`, () => {
      expect(pendingMigrations(c.applied, 'db', list).map((m) => m.version)).toEqual(c.pending);
    });
  }

  it('a version newer than the list is FLO_STORAGE_SCHEMA naming both versions and the database', () => {
    let caught: unknown;
    try {
      pendingMigrations([1, 2, 3, 4], 'sqlite /data/x.sqlite', list);
    } catch (error) {
      caught = error;
    }
    expect(isFlotillaError(caught, 'FLO_STORAGE_SCHEMA')).toBe(true);
    expect((caught as Error).message).toContain('sqlite /data/x.sqlite');
    expect((caught as { details: unknown }).details).toEqual({ schemaVersion: 4, knownVersion: 3 });
  });
});

describe('the migration list', () => {
  it('is consecutive from 1, and SCHEMA_VERSION is its last version', () => {
    expect(() => checkMigrationList(MIGRATIONS)).not.toThrow();
    expect(MIGRATIONS.at(-1)?.version).toBe(SCHEMA_VERSION);
  });

  it('every migration has SQL for both dialects', () => {
    for (const m of MIGRATIONS) {
      expect(m.sqlite.trim()).not.toBe('');
      expect(m.postgres.trim()).not.toBe('');
    }
  });

  it('checkMigrationList catches a gap', () => {
    expect(() => checkMigrationList([list[0]!, list[2]!])).toThrow(/expected 2/);
  });
});
