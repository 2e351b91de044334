/**
 * Group commit for entity writes: writes that become ready while a transaction is in
 * flight share the next `writeEntities` transaction. One entity never has two writes
 * pending (its calls run one at a time), so its order is kept.
 */
import { GroupCommit } from '../core/group-commit.js';
import type { EntityWrite, Storage, WriteResult } from '../storage/storage.js';

/** Batches entity writes into `writeEntities` transactions, one in flight at a time. */
export class WriteBatcher extends GroupCommit<EntityWrite, WriteResult> {
  /**
   * @param writeBatchMax most writes per transaction
   * @param defer the host's batching point (`setImmediate` under the node driver)
   */
  constructor(storage: Storage, writeBatchMax: number, defer: (fn: () => void) => void) {
    super((writes) => storage.writeEntities(writes), writeBatchMax, defer);
  }

  /** Queue one write; resolves with its result once the transaction holding it committed. */
  write(write: EntityWrite): Promise<WriteResult> {
    return this.submit(write);
  }
}
