/**
 * Schema version 2: durable execution. Workflow records (one per execution), their
 * journals (one row per completed step, keyed by execution and step number, so a step
 * can never be journaled twice) and durable timers (indexed by due time, so an owner reads
 * the nearest timers of its partitions in due order and stops at its limit).
 */
import type { Migration } from './migration.js';

const sqlite = `
CREATE TABLE flotilla_workflows (
  id TEXT PRIMARY KEY,
  partition INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  input BLOB NOT NULL,
  output BLOB,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX flotilla_workflows_partition_status ON flotilla_workflows (partition, status, id);
CREATE TABLE flotilla_journal (
  workflow_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  outcome BLOB NOT NULL,
  PRIMARY KEY (workflow_id, seq)
) WITHOUT ROWID;
CREATE TABLE flotilla_timers (
  id TEXT PRIMARY KEY,
  partition INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX flotilla_timers_partition_due ON flotilla_timers (partition, due_at, id);
CREATE INDEX flotilla_timers_due ON flotilla_timers (due_at, id);
`;

const postgres = `
CREATE TABLE flotilla_workflows (
  id text COLLATE "C" PRIMARY KEY,
  partition integer NOT NULL,
  name text NOT NULL,
  status text NOT NULL,
  input bytea NOT NULL,
  output bytea,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flotilla_workflows_partition_status ON flotilla_workflows (partition, status, id);
CREATE TABLE flotilla_journal (
  workflow_id text COLLATE "C" NOT NULL,
  seq integer NOT NULL,
  name text NOT NULL,
  outcome bytea NOT NULL,
  PRIMARY KEY (workflow_id, seq)
);
CREATE TABLE flotilla_timers (
  id text COLLATE "C" PRIMARY KEY,
  partition integer NOT NULL,
  due_at bigint NOT NULL,
  kind text NOT NULL,
  payload bytea NOT NULL
);
CREATE INDEX flotilla_timers_partition_due ON flotilla_timers (partition, due_at, id);
CREATE INDEX flotilla_timers_due ON flotilla_timers (due_at, id);
`;

/** Workflows, journals and durable timers. */
export const durableExecution: Migration = { version: 2, name: 'workflows, journals and timers', sqlite, postgres };
