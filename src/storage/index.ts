/**
 * The storage layer's public face: the contract, `openStorage`, and the three
 * implementations (in-memory, SQLite, PostgreSQL).
 */
export type { EntityCount, EntityWrite, PartitionFence, Storage, StorageKind, StorageOptions, StoredEntity, WriteResult } from './storage.js';
export { openStorage } from './open-storage.js';
export { MemoryStorage } from './memory.js';
export { SqliteStorage, SQLITE_DEFAULTS, type SqliteStorageOptions } from './sqlite.js';
export { PostgresStorage } from './postgres.js';
export { POSTGRES_DEFAULTS, type PostgresStorageOptions } from './postgres-connection.js';
export { SCHEMA_VERSION } from './migrations.js';
export { ENTITY_ID_LENGTH_MAX, ENTITY_TYPE_LENGTH_MAX, LIST_LIMIT_MAX, NODE_ID_LENGTH_MAX, WRITE_BATCH_MAX } from './validation.js';
export type { CommitResult, DurableCommit, DurableStore, DurableTimer, JournalEntry, LoadedWorkflow, RecordWrite, StoredWorkflow, WorkflowStatus } from './durable.js';
export { COMMIT_BATCH_MAX, COMMIT_ITEMS_MAX } from './durable-validation.js';
