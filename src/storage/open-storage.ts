/**
 * The one way the rest of Flotilla opens a store: pick the implementation from the
 * options, open it, and apply schema migrations before resolving. The SQLite and
 * PostgreSQL drivers are loaded only when asked for: a node that never opens PostgreSQL
 * does not carry `pg` in memory (about 15 MB of RSS).
 */
import { FlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { MemoryStorage } from './memory.js';
import type { Storage, StorageOptions } from './storage.js';

/**
 * Open a store, migrated and ready. Rejects with FLO_CONFIG_INVALID for bad options,
 * FLO_STORAGE when the store cannot be reached or opened, and FLO_STORAGE_SCHEMA when the
 * database was written by a newer Flotilla.
 */
export async function openStorage(options: StorageOptions, logger?: Logger): Promise<Storage> {
  switch (options.kind) {
    case 'memory':
      return new MemoryStorage();
    case 'sqlite': {
      const { SqliteStorage } = await import('./sqlite.js');
      return SqliteStorage.open(options, logger);
    }
    case 'postgres': {
      const { PostgresStorage } = await import('./postgres.js');
      return PostgresStorage.open(options);
    }
    default:
      throw new FlotillaError('FLO_CONFIG_INVALID', `unknown storage kind ${JSON.stringify((options as { kind: unknown }).kind)}`);
  }
}
