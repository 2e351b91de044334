/**
 * The partition gate: what the entity runtime asks before serving a partition (may this
 * node serve it, and under which epoch do its writes go) and tells when storage refuses
 * a write as stale. The node implements it from the partition table and storage fences;
 * `StaticGate` is the single-node version for tests and benchmarks.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { Storage } from '../storage/storage.js';

/** Ownership and fencing, as the entity runtime sees them. */
export interface PartitionGate {
  /**
   * Wait (bounded) until this node may serve `partition`; resolves with the epoch its
   * writes carry. Rejects with FLO_NOT_OWNER when this node does not own it, is sealing
   * it for a migration, or was deposed.
   */
  admit(partition: number): Promise<number>;
  /** Storage refused a write of `partition` at `epoch` as stale: this node was deposed. */
  deposed(partition: number, epoch: number): void;
}

/**
 * A gate for one node alone: owns every partition at a fixed epoch, claiming each in
 * storage (when it has one) on first use. A refused claim or write keeps the partition
 * deposed from then on.
 */
export class StaticGate implements PartitionGate {
  private readonly claims = new Map<number, Promise<number>>();
  private readonly deposedSet = new Set<number>();

  constructor(
    private readonly self: NodeId,
    private readonly storage: Storage | undefined,
    private readonly epoch = 1,
  ) {}

  admit(partition: number): Promise<number> {
    if (this.deposedSet.has(partition)) return Promise.reject(notOwner(partition));
    let claim = this.claims.get(partition);
    if (claim === undefined) {
      claim = this.storage === undefined ? Promise.resolve(this.epoch) : this.storage.claimPartition(partition, this.epoch, this.self).then(() => this.epoch);
      this.claims.set(partition, claim);
      claim.catch((error: unknown) => {
        if (isFlotillaError(error, 'FLO_STALE_EPOCH')) this.deposed(partition, this.epoch);
        else this.claims.delete(partition);
      });
    }
    return claim;
  }

  deposed(partition: number, _epoch: number): void {
    this.deposedSet.add(partition);
  }
}

function notOwner(partition: number): FlotillaError {
  return new FlotillaError('FLO_NOT_OWNER', `partition ${partition} is deposed on this node`, { partition });
}
