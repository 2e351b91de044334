/**
 * The shape of one schema migration: a version, a name, and the SQL for each dialect.
 * Migrations only add (tables, columns, indexes, functions); each runs once, in version
 * order, inside the lock that serializes every process opening the same database.
 */

/** SQL dialects Flotilla stores data in. */
export type Dialect = 'sqlite' | 'postgres';

/** One schema migration. */
export interface Migration {
  /** Consecutive from 1; the database records each applied version. */
  readonly version: number;
  /** What it adds, for the migrations table and logs. */
  readonly name: string;
  /** Statements for SQLite, run as one script. */
  readonly sqlite: string;
  /** Statements for PostgreSQL, run as one script in the schema chosen at open. */
  readonly postgres: string;
}
