/**
 * The versioned list of schema migrations and the rule for applying them: every store
 * records applied versions in `flotilla_schema_migrations` and, under a lock held while
 * it opens, applies the versions it lacks. Adding a migration is one new file under
 * `schema/` and one entry below.
 */
import { assert, FlotillaError } from '../core/errors.js';
import { fencesAndEntities } from './schema/0001-fences-and-entities.js';
import { durableExecution } from './schema/0002-durable.js';
import { setWrites } from './schema/0003-set-writes.js';
import { workflowRetention } from './schema/0004-workflow-retention.js';
import type { Migration } from './schema/migration.js';

export type { Dialect, Migration } from './schema/migration.js';

/** Every migration, in version order. */
export const MIGRATIONS: readonly Migration[] = [fencesAndEntities, durableExecution, setWrites, workflowRetention];

/** The schema version this code writes and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Name of the table recording applied migrations (same in every dialect). */
export const MIGRATIONS_TABLE = 'flotilla_schema_migrations';

/**
 * The migrations still to apply to a database that recorded `applied`. Refuses, with
 * FLO_STORAGE_SCHEMA, a database that recorded a version this code does not know: a
 * newer Flotilla changed the schema, and this one would misread it.
 */
export function pendingMigrations(applied: readonly number[], where: string, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  const known = migrations.length;
  const newest = applied.reduce((max, v) => Math.max(max, v), 0);
  if (newest > known) {
    throw new FlotillaError('FLO_STORAGE_SCHEMA', `${where} is at schema version ${newest}; this version of Flotilla knows up to ${known}`, {
      schemaVersion: newest,
      knownVersion: known,
    });
  }
  const done = new Set(applied);
  return migrations.filter((m) => !done.has(m.version));
}

/** Check that a migration list is consecutive from 1 (a bug otherwise). */
export function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, index) => {
    assert(m.version === index + 1, `migration ${m.name} has version ${m.version}, expected ${index + 1}`);
  });
}
