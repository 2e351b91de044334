/**
 * Where the client keeps writes until the cluster acknowledges them, so a write made
 * offline (or before a crash of the page or process, with a durable adapter) is sent
 * once a node is reachable. The memory adapter ships here; the IndexedDB adapter for
 * browsers is in `client-platform/` (it reads the platform's `indexedDB`).
 */

/** A write waiting for its acknowledgement. */
export interface PendingWrite {
  /** Order of the write in this client: writes to one key are sent in this order. */
  readonly seq: number;
  readonly map: string;
  readonly key: string;
  /** The msgpack-encoded value of a set, or null for a delete. */
  readonly value: Uint8Array | null;
}

/** A durable home for pending writes. Every method may be asynchronous. */
export interface StorageAdapter {
  /** Every pending write, in any order (the client sorts them by `seq`). */
  load(): Promise<readonly PendingWrite[]>;
  /**
   * Keep `write` until `remove(write.seq)`. The write is sent once the returned promise
   * resolves, or at once when `put` returns nothing (it kept the write before returning).
   */
  put(write: PendingWrite): Promise<void> | void;
  /** Forget the write once acknowledged. */
  remove(seq: number): Promise<void> | void;
}

/** Pending writes in memory: survives reconnects, not a restart of the process or page. */
export class MemoryStorageAdapter implements StorageAdapter {
  private readonly writes = new Map<number, PendingWrite>();

  load(): Promise<readonly PendingWrite[]> {
    return Promise.resolve([...this.writes.values()]);
  }

  put(write: PendingWrite): void {
    this.writes.set(write.seq, write);
  }

  remove(seq: number): void {
    this.writes.delete(seq);
  }

  /** Writes held now (for diagnostics). */
  size(): number {
    return this.writes.size;
  }
}

/**
 * Drop an answered write from `storage`. A failed removal is not the caller's failure (the
 * write was answered): the write is sent again after a restart of the client, as one whose
 * acknowledgement was lost would be.
 */
export function forgetWrite(storage: StorageAdapter, seq: number): void {
  try {
    storage.remove(seq)?.catch(ignoreFailure);
  } catch {
    ignoreFailure();
  }
}

function ignoreFailure(): void {}
