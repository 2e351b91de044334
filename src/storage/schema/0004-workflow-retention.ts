/**
 * Schema version 4: workflow retention. The owner of a partition deletes its finished
 * executions oldest first; this index finds them by (partition, status, age) without
 * reading every finished execution of the partition.
 */
import type { Migration } from './migration.js';

const sqlite = `CREATE INDEX flotilla_workflows_finished ON flotilla_workflows (partition, status, updated_at);`;
const postgres = sqlite;

/** The index of finished executions by age. */
export const workflowRetention: Migration = { version: 4, name: 'finished workflows by age', sqlite, postgres };
