/**
 * The node's partition gate for entities: this node serves a partition's entities only
 * when the partition table names it owner, the partition is not sealed for a move, and
 * it holds the storage fence at the table's epoch (claimed once per epoch, before the
 * first load). A refused claim or write deposes it for that partition until the table
 * moves the epoch on.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger as NodeLogger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { withDeadline, type Timers } from '../core/timers.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import type { Storage } from '../storage/storage.js';
import type { PartitionGate } from './partition-gate.js';

/** What the gate needs from the node. */
export interface EntityGateDeps {
  readonly self: NodeId;
  readonly storage: Storage;
  readonly logger: NodeLogger;
  /** How long a call waits for a claim, ms; then FLO_TIMEOUT. */
  readonly claimWaitMs: number;
  /** The host's timers (known once the service starts). */
  timers(): Timers;
  table(): PartitionTableReader | undefined;
}

interface Claim {
  readonly epoch: number;
  readonly done: Promise<number>;
  /** Set once storage confirmed the claim: calls then pass without waiting. */
  held: boolean;
}

/** Ownership, seals and fences of this node's partitions. */
export class NodeEntityGate implements PartitionGate {
  private readonly claims = new Map<number, Claim>();
  /** Partitions sealed for a move out (nested: several migrations may seal one partition). */
  private readonly sealed = new Map<number, number>();
  /** Partitions this node was deposed from, with the epoch it was deposed at. */
  private readonly deposedAt = new Map<number, number>();

  constructor(private readonly deps: EntityGateDeps) {}

  admit(partition: number): Promise<number> {
    const table = this.deps.table();
    if (table === undefined || table.version === 0 || table.owner(partition) !== this.deps.self) return Promise.reject(notOwner(partition, 'not the owner'));
    if ((this.sealed.get(partition) ?? 0) > 0) return Promise.reject(notOwner(partition, 'moving to another node'));
    const epoch = table.epoch(partition);
    const deposed = this.deposedAt.get(partition);
    if (deposed !== undefined && deposed >= epoch) return Promise.reject(notOwner(partition, `deposed at epoch ${deposed}`));
    const claim = this.claim(partition, epoch);
    return claim.held ? Promise.resolve(epoch) : this.withDeadline(partition, claim.done);
  }

  /** Claim `partition` at the table's epoch now (a new owner fences the old one at once). */
  claimOwned(partition: number): void {
    const table = this.deps.table();
    if (table === undefined || table.owner(partition) !== this.deps.self) return;
    this.claim(partition, table.epoch(partition)).done.catch(() => undefined);
  }

  deposed(partition: number, epoch: number): void {
    const before = this.deposedAt.get(partition) ?? -1;
    if (epoch > before) {
      this.deposedAt.set(partition, epoch);
      this.deps.logger.warn({ partition, epoch }, 'entities: deposed from partition by a newer fence');
    }
    const claim = this.claims.get(partition);
    if (claim !== undefined && claim.epoch <= epoch) this.claims.delete(partition);
  }

  /** Refuse new calls of `partition` (a planned move out). */
  seal(partition: number): void {
    this.sealed.set(partition, (this.sealed.get(partition) ?? 0) + 1);
  }

  /** Lift every seal of `partition` (the move committed or was called off). */
  unseal(partition: number): void {
    this.sealed.delete(partition);
  }

  isSealed(partition: number): boolean {
    return (this.sealed.get(partition) ?? 0) > 0;
  }

  private claim(partition: number, epoch: number): Claim {
    const existing = this.claims.get(partition);
    if (existing !== undefined && existing.epoch === epoch) return existing;
    const done = this.deps.storage.claimPartition(partition, epoch, this.deps.self).then(
      () => {
        claim.held = true;
        return epoch;
      },
      (error: unknown) => {
        if (this.claims.get(partition)?.epoch === epoch) this.claims.delete(partition);
        if (isFlotillaError(error, 'FLO_STALE_EPOCH')) {
          this.deposed(partition, epoch);
          throw notOwner(partition, `claim at epoch ${epoch} refused`);
        }
        throw error;
      },
    );
    const claim: Claim = { epoch, done, held: false };
    this.claims.set(partition, claim);
    return claim;
  }

  private withDeadline(partition: number, done: Promise<number>): Promise<number> {
    const timers = this.deps.timers();
    return withDeadline(done, timers.now() + this.deps.claimWaitMs, timers, `claim of partition ${partition}`);
  }

}

function notOwner(partition: number, why: string): FlotillaError {
  return new FlotillaError('FLO_NOT_OWNER', `entities of partition ${partition}: ${why}`, { partition });
}
