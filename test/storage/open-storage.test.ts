// openStorage: picks the implementation from the options and refuses unknown kinds.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStorage, openStorage, SqliteStorage } from '../../src/storage/index.js';
import type { StorageOptions } from '../../src/storage/index.js';
import { rejectsWith } from './contract-support.js';

describe('openStorage', () => {
  it('opens the in-memory store', async () => {
    const store = await openStorage({ kind: 'memory' });
    expect(store).toBeInstanceOf(MemoryStorage);
    expect(store.kind).toBe('memory');
  });

  it('opens a migrated SQLite store', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-open-'));
    try {
      const store = await openStorage({ kind: 'sqlite', path: path.join(dir, 'a', 'b.sqlite') });
      expect(store).toBeInstanceOf(SqliteStorage);
      await expect(store.claimPartition(1, 1, 'n')).resolves.toEqual({ partition: 1, epoch: 1, owner: 'n' });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown kind and bad PostgreSQL options with FLO_CONFIG_INVALID', async () => {
    await rejectsWith(openStorage({ kind: 'etcd' } as unknown as StorageOptions), 'FLO_CONFIG_INVALID');
    await rejectsWith(openStorage({ kind: 'postgres', url: 'postgres://h/db', schema: 'Bad-Name' }), 'FLO_CONFIG_INVALID');
  });
});
