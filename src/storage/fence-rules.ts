/**
 * The fencing and versioning rules of the storage contract as pure functions, shared by
 * every implementation so that all of them refuse the same writes with the same errors.
 * SQL implementations read the fence and the current version, then ask these functions.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { EntityWrite, PartitionFence } from './storage.js';

/** The part of a fence the rules read (a SQL row may carry no partition). */
export type FenceState = Pick<PartitionFence, 'epoch' | 'owner'>;

/**
 * Check a write against the fence of its partition; undefined when it may proceed. A write
 * proceeds only at exactly the fence's epoch and from the fence's owner: behind the fence
 * means a deposed owner, ahead of it means a writer that skipped its claim.
 */
export function fenceError(fence: FenceState | undefined, write: Pick<EntityWrite, 'partition' | 'epoch' | 'writer'>): FlotillaError | undefined {
  if (fence === undefined) {
    return new FlotillaError('FLO_STALE_EPOCH', `partition ${write.partition} was never claimed`, { partition: write.partition, epoch: write.epoch });
  }
  if (write.epoch < fence.epoch || (write.epoch === fence.epoch && write.writer !== fence.owner)) {
    return new FlotillaError('FLO_STALE_EPOCH', `partition ${write.partition} is fenced at epoch ${fence.epoch} by ${fence.owner}`, {
      partition: write.partition,
      epoch: write.epoch,
      fenceEpoch: fence.epoch,
      fenceOwner: fence.owner,
    });
  }
  if (write.epoch > fence.epoch) {
    return new FlotillaError('FLO_STALE_EPOCH', `partition ${write.partition} was not claimed at epoch ${write.epoch}`, {
      partition: write.partition,
      epoch: write.epoch,
      fenceEpoch: fence.epoch,
      fenceOwner: fence.owner,
    });
  }
  return undefined;
}

/** Check a claim against the current fence; undefined when it may proceed. */
export function claimError(fence: FenceState | undefined, partition: number, epoch: number, owner: NodeId): FlotillaError | undefined {
  if (fence === undefined || epoch > fence.epoch || (epoch === fence.epoch && owner === fence.owner)) return undefined;
  return new FlotillaError('FLO_STALE_EPOCH', `cannot claim partition ${partition} at epoch ${epoch}: fenced at ${fence.epoch} by ${fence.owner}`, {
    partition,
    epoch,
    fenceEpoch: fence.epoch,
    fenceOwner: fence.owner,
  });
}

/** The error of a write whose `expectedVersion` does not match the stored record. */
export function versionConflictError(write: Pick<EntityWrite, 'type' | 'id' | 'expectedVersion'>, currentVersion: number): FlotillaError {
  return new FlotillaError('FLO_VERSION_CONFLICT', `${write.type}/${write.id} is at version ${currentVersion}, not ${write.expectedVersion}`, {
    type: write.type,
    id: write.id,
    version: currentVersion,
    expectedVersion: write.expectedVersion,
  });
}

/**
 * Order strings by Unicode code point, the order of UTF-8 bytes: what SQLite's BINARY
 * collation and PostgreSQL's "C" collation give, so every store lists ids alike.
 * (JavaScript's `<` compares UTF-16 units, which differs above U+FFFF.)
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
