/**
 * Pending writes in the browser's IndexedDB, so writes made offline survive a reload of
 * the page (or a crash of the tab) and are sent by the next client that opens the same
 * database. One object store, keyed by the write's sequence number.
 */
import { FlotillaError } from '../core/errors.js';
import type { PendingWrite, StorageAdapter } from '../client/storage.js';

/** The part of the IndexedDB API the adapter uses (`globalThis.indexedDB` fits). */
interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}
interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: ((event: unknown) => void) | null;
}
interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options: { keyPath: string }): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
}
interface IdbTransaction {
  objectStore(name: string): IdbStore;
  oncomplete: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  error: unknown;
}
interface IdbStore {
  getAll(): IdbRequest<unknown[]>;
  put(value: unknown): unknown;
  delete(key: number): unknown;
}

const STORE = 'pending-writes';

/** Pending writes in IndexedDB database `name` (default `flotilla-client`). */
export class IndexedDbStorageAdapter implements StorageAdapter {
  private db: Promise<IdbDatabase> | undefined;

  /** @throws FlotillaError FLO_CONFIG_INVALID where the platform has no IndexedDB. */
  constructor(
    private readonly name = 'flotilla-client',
    private readonly factory: IdbFactory | undefined = (globalThis as { indexedDB?: IdbFactory }).indexedDB,
  ) {
    if (factory === undefined) throw new FlotillaError('FLO_CONFIG_INVALID', 'this platform has no IndexedDB: use MemoryStorageAdapter');
  }

  async load(): Promise<readonly PendingWrite[]> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readonly');
    const rows = await request(tx.objectStore(STORE).getAll());
    return rows.filter(isPendingWrite);
  }

  async put(write: PendingWrite): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put({ seq: write.seq, map: write.map, key: write.key, value: write.value });
    await done(tx);
  }

  async remove(seq: number): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(seq);
    await done(tx);
  }

  /** Closes the database (the adapter reopens it on the next call). */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    (await db)?.close();
  }

  private open(): Promise<IdbDatabase> {
    this.db ??= new Promise<IdbDatabase>((resolve, reject) => {
      const req = this.factory!.open(this.name, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'seq' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new FlotillaError('FLO_STORAGE', `IndexedDB ${this.name}: ${String(req.error)}`));
    });
    return this.db;
  }
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new FlotillaError('FLO_STORAGE', `IndexedDB: ${String(req.error)}`));
  });
}

function done(tx: IdbTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(new FlotillaError('FLO_STORAGE', `IndexedDB: ${String(tx.error)}`));
  });
}

function isPendingWrite(v: unknown): v is PendingWrite {
  if (typeof v !== 'object' || v === null) return false;
  const w = v as Record<string, unknown>;
  return typeof w.seq === 'number' && typeof w.map === 'string' && typeof w.key === 'string' && (w.value === null || w.value instanceof Uint8Array);
}
