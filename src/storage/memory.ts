/**
 * The in-memory store: the reference semantics of the storage contract, for unit tests
 * and for benchmarks that measure the entity runtime without a disk. Nothing survives
 * the process.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { EntityCount, EntityWrite, PartitionFence, Storage, StoredEntity, WriteResult } from './storage.js';

/** Check a write against the fence of its partition; undefined when it may proceed. */
export function fenceError(fence: PartitionFence | undefined, write: Pick<EntityWrite, 'partition' | 'epoch' | 'writer'>): FlotillaError | undefined {
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
    });
  }
  return undefined;
}

/** Check a claim against the current fence; undefined when it may proceed. */
export function claimError(fence: PartitionFence | undefined, partition: number, epoch: number, owner: NodeId): FlotillaError | undefined {
  if (fence === undefined || epoch > fence.epoch || (epoch === fence.epoch && owner === fence.owner)) return undefined;
  return new FlotillaError('FLO_STALE_EPOCH', `cannot claim partition ${partition} at epoch ${epoch}: fenced at ${fence.epoch} by ${fence.owner}`, {
    partition,
    epoch,
    fenceEpoch: fence.epoch,
    fenceOwner: fence.owner,
  });
}

/** Check an argument shared by every implementation. */
export function checkEntityKey(type: string, id: string): void {
  if (type.length === 0 || id.length === 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'entity type and id must be non-empty');
}

/** The in-memory store. */
export class MemoryStorage implements Storage {
  readonly kind = 'memory' as const;
  readonly description = 'memory';
  private readonly fenceMap = new Map<number, PartitionFence>();
  private readonly entities = new Map<string, StoredEntity>();
  private closed = false;

  claimPartition(partition: number, epoch: number, owner: NodeId): Promise<PartitionFence> {
    this.checkOpen();
    const error = claimError(this.fenceMap.get(partition), partition, epoch, owner);
    if (error !== undefined) return Promise.reject(error);
    const fence = { partition, epoch, owner };
    this.fenceMap.set(partition, fence);
    return Promise.resolve(fence);
  }

  fences(): Promise<PartitionFence[]> {
    this.checkOpen();
    return Promise.resolve([...this.fenceMap.values()].sort((a, b) => a.partition - b.partition));
  }

  maxEpoch(): Promise<number> {
    this.checkOpen();
    let max = 0;
    for (const f of this.fenceMap.values()) max = Math.max(max, f.epoch);
    return Promise.resolve(max);
  }

  loadEntity(type: string, id: string): Promise<StoredEntity | undefined> {
    this.checkOpen();
    checkEntityKey(type, id);
    const stored = this.entities.get(keyOf(type, id));
    return Promise.resolve(stored === undefined ? undefined : { ...stored, state: stored.state.slice() });
  }

  writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]> {
    this.checkOpen();
    const results: WriteResult[] = [];
    for (const w of writes) {
      checkEntityKey(w.type, w.id);
      const error = fenceError(this.fenceMap.get(w.partition), w);
      if (error !== undefined) {
        results.push({ ok: false, error });
        continue;
      }
      const key = keyOf(w.type, w.id);
      const current = this.entities.get(key);
      const currentVersion = current?.version ?? 0;
      if (currentVersion !== w.expectedVersion) {
        results.push({
          ok: false,
          error: new FlotillaError('FLO_VERSION_CONFLICT', `${w.type}/${w.id} is at version ${currentVersion}, not ${w.expectedVersion}`, {
            type: w.type,
            id: w.id,
            version: currentVersion,
            expectedVersion: w.expectedVersion,
          }),
        });
        continue;
      }
      if (w.state === undefined) {
        this.entities.delete(key);
        results.push({ ok: true, version: 0 });
      } else {
        const version = currentVersion + 1;
        this.entities.set(key, { type: w.type, id: w.id, partition: w.partition, state: w.state.slice(), version });
        results.push({ ok: true, version });
      }
    }
    return Promise.resolve(results);
  }

  countEntities(): Promise<EntityCount[]> {
    this.checkOpen();
    const counts = new Map<string, EntityCount>();
    for (const e of this.entities.values()) {
      const k = `${e.partition}\u0000${e.type}`;
      const c = counts.get(k);
      counts.set(k, { type: e.type, partition: e.partition, count: (c?.count ?? 0) + 1 });
    }
    return Promise.resolve([...counts.values()].sort((a, b) => a.type.localeCompare(b.type) || a.partition - b.partition));
  }

  listEntities(type: string, partition: number, limit: number): Promise<string[]> {
    this.checkOpen();
    const ids: string[] = [];
    for (const e of this.entities.values()) if (e.type === type && e.partition === partition) ids.push(e.id);
    ids.sort();
    return Promise.resolve(ids.slice(0, Math.max(0, limit)));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('FLO_STORAGE', 'storage is closed');
  }
}

function keyOf(type: string, id: string): string {
  return `${type}\u0000${id}`;
}
