/**
 * The data side of a split-brain merge. When this node leaves its cluster for the
 * winner of a healed split, it exports every partition it held (through each
 * participant's `exportChunks`) and drops them; once it has joined the winner and holds
 * the winner's table, it sends each exported chunk to the partition's new owner, which
 * reconciles it through the participant's `merge` (the KV store: last writer wins by
 * HLC) and passes it on to the partition's backups.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Address, NodeId, PartitionTableData } from '../core/model.js';
import type { PartitionTableReader } from '../partitions/coordinator.js';
import { packBody, unpackBody } from '../protocol/msgpack.js';
import type { Message, ServiceRequest } from '../protocol/messages.js';
import type { MigrationParticipant } from './participant.js';
import type { PartitionHandler } from './service.js';
import type { Logger as NodeLogger } from '../core/logger.js';

/** Service that reconciles a merged chunk on the partition's owner. */
export const MERGE_SERVICE = 'merge';
/** Service that reconciles a merged chunk on one of the partition's backups. */
export const MERGE_REPLICA_SERVICE = 'merge.replica';

/** Limits of a handover. */
export interface MergeHandoverConfig {
  /**
   * Most bytes of exported chunks held for a handover. Default 256 MiB. Beyond it the
   * remaining partitions are dropped unsent, and the loss is logged: the maps live in
   * memory, so this bounds how much a merge may double.
   */
  readonly exportBytesMax: number;
  /** How long the handover waits for the winner's table and keeps retrying sends. Default 120000 ms. */
  readonly handoverTimeoutMs: number;
  /** Chunks sent at once. Default 8. */
  readonly sendsInFlightMax: number;
  /** Pause between checks for the winner's table, and between retry rounds. Default 200 ms. */
  readonly pollIntervalMs: number;
  /** Timeout of one backup's reconciliation request. Default 5000 ms. */
  readonly replicaTimeoutMs: number;
}

/** The defaults. */
export const DEFAULT_MERGE_HANDOVER_CONFIG: MergeHandoverConfig = Object.freeze({
  exportBytesMax: 256 * 1024 * 1024,
  handoverTimeoutMs: 120_000,
  sendsInFlightMax: 8,
  pollIntervalMs: 200,
  replicaTimeoutMs: 5_000,
});

/** What the handover needs from the sharding layer (whose parts a merge rebuilds). */
export interface MergeHandoverDeps {
  readonly self: NodeId;
  readonly participants: readonly MigrationParticipant[];
  readonly logger: NodeLogger;
  readonly config?: Partial<MergeHandoverConfig>;
  /** The current table (the winner's once it arrived). */
  table(): PartitionTableReader;
  /** True once this node is in the winner's members view. */
  joined(): boolean;
  /** True while an incoming migration copies `partition` here: its store is not this handover's to drop. */
  receiving(partition: number): boolean;
  /** Run `payload` through `service` on the owner of `partition` (routed, with retries). */
  call(service: string, partition: number, payload: Uint8Array): Promise<Uint8Array | undefined>;
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
  /** Send a partition's captured changes to its sealed outgoing migrations; resolves once their destinations have them. */
  flushSealed(partition: number): Promise<void>;
  /** The partitions some handover has not finished handing over changed (see `pendingPartitions`). */
  onPendingChanged?(partitions: ReadonlySet<number>): void;
  addressOf(nodeId: NodeId): Address | undefined;
  now(): Millis;
  sleep(ms: number): Promise<void>;
  stopped(): boolean;
}

/** One exported chunk waiting to go to its new owner. */
interface Exported {
  readonly participant: string;
  readonly partition: number;
  readonly bytes: Uint8Array;
}

/** Summary of one handover, for the log and tests. */
export interface HandoverResult {
  readonly partitions: number;
  readonly chunks: number;
  readonly sent: number;
  readonly failed: number;
  readonly droppedBytes: number;
}

/** Exports, holds and hands over this node's partition data across a merge. */
export class MergeHandover {
  private readonly config: MergeHandoverConfig;
  private seq = 0;
  private runningCount = 0;
  /** Per running handover: chunks not yet handed over, by partition. */
  private readonly runs = new Set<Map<number, number>>();

  constructor(private readonly deps: MergeHandoverDeps) {
    this.config = { ...DEFAULT_MERGE_HANDOVER_CONFIG, ...deps.config };
  }

  /**
   * The owner-side and backup-side reconciliation handlers, for the request router. Not
   * writes for the read-only check: they bring in data another side acknowledged, and
   * refusing them on a node that lost quorum would lose it.
   */
  handlers(): PartitionHandler[] {
    return [
      { service: MERGE_SERVICE, ownerOnly: true, isWrite: () => false, handle: (request) => this.onOwner(request) },
      { service: MERGE_REPLICA_SERVICE, ownerOnly: false, isWrite: () => false, handle: (request) => Promise.resolve(this.onReplica(request)) },
    ];
  }

  /**
   * Exports each of `held` and drops it locally unless the current table already gives it
   * back (or a migration is copying it here); resolves with the chunks.
   */
  async export(held: ReadonlySet<number>): Promise<Exported[]> {
    const out: Exported[] = [];
    let bytes = 0;
    let droppedBytes = 0;
    for (const partition of held) {
      for (const p of this.deps.participants) {
        for await (const chunk of p.exportChunks(partition)) {
          if (bytes + chunk.byteLength > this.config.exportBytesMax) droppedBytes += chunk.byteLength;
          else out.push({ participant: p.name, partition, bytes: chunk });
          bytes += chunk.byteLength;
        }
      }
      const table = this.deps.table();
      const keeps =
        (table.version > 0 && (table.owner(partition) === this.deps.self || table.backups(partition).includes(this.deps.self))) || this.deps.receiving(partition);
      if (!keeps) for (const p of this.deps.participants) p.finalize(partition, 'none');
    }
    if (droppedBytes > 0) this.deps.logger.error({ droppedBytes, exportBytesMax: this.config.exportBytesMax }, 'merge: partition data beyond the export bound was dropped');
    return out;
  }

  /**
   * Exports now, then waits until this node has joined the winner and holds its table,
   * and sends every chunk to its partition's owner there.
   */
  run(oldTable: PartitionTableData): Promise<HandoverResult> {
    return this.runFor(this.held(oldTable));
  }

  /**
   * The same for `partitions` only: what this node held as owner of partitions the table
   * took away without a move from here (the others held it dead for a while).
   */
  async runFor(partitions: ReadonlySet<number>): Promise<HandoverResult> {
    this.runningCount++;
    // Every partition held counts as pending from the start, before the export drops
    // anything: until its chunks are known, an owner cannot tell what is missing.
    const pending = new Map<number, number>();
    for (const p of partitions) pending.set(p, Number.POSITIVE_INFINITY);
    this.runs.add(pending);
    this.changed();
    try {
      return await this.handOver(partitions, pending);
    } finally {
      this.runningCount--;
      this.runs.delete(pending);
      this.changed();
    }
  }

  /** The partitions some running handover has not finished handing over. */
  pendingPartitions(): Set<number> {
    const out = new Set<number>();
    for (const run of this.runs) for (const p of run.keys()) out.add(p);
    return out;
  }

  /** True while a running handover still has data of `partition` to hand over. */
  holds(partition: number): boolean {
    for (const run of this.runs) if (run.has(partition)) return true;
    return false;
  }

  private held(oldTable: PartitionTableData): Set<number> {
    const held = new Set<number>();
    for (const a of oldTable.assignments) if (a.owner === this.deps.self || a.backups.includes(this.deps.self)) held.add(a.partition);
    return held;
  }

  private changed(): void {
    this.deps.onPendingChanged?.(this.pendingPartitions());
  }

  /**
   * Handovers not yet over. Until they are, an owner may lack writes that this node
   * acknowledged under its old table, so reads of them may come back empty.
   */
  get running(): number {
    return this.runningCount;
  }

  private async handOver(held: ReadonlySet<number>, pending: Map<number, number>): Promise<HandoverResult> {
    const exported = await this.export(held);
    pending.clear();
    for (const e of exported) pending.set(e.partition, (pending.get(e.partition) ?? 0) + 1);
    this.changed();
    const partitions = pending.size;
    const deadline = this.deps.now() + this.config.handoverTimeoutMs;
    while (!(this.deps.joined() && this.deps.table().version > 0)) {
      if (this.deps.stopped() || this.deps.now() >= deadline) return this.report({ partitions, chunks: exported.length, sent: 0, failed: exported.length, droppedBytes: 0 });
      await this.deps.sleep(this.config.pollIntervalMs);
    }
    let left = exported;
    let sent = 0;
    while (left.length > 0 && !this.deps.stopped() && this.deps.now() < deadline) {
      const failed = await this.sendAll(left, pending);
      sent += left.length - failed.length;
      left = failed;
      if (left.length > 0) await this.deps.sleep(this.config.pollIntervalMs);
    }
    return this.report({ partitions, chunks: exported.length, sent, failed: left.length, droppedBytes: 0 });
  }

  private report(result: HandoverResult): HandoverResult {
    if (result.failed > 0) this.deps.logger.error({ ...result }, 'merge: some partition data could not be handed to the winning cluster');
    else this.deps.logger.info({ ...result }, 'merge: partition data handed to the winning cluster');
    return result;
  }

  /** Sends every chunk, `sendsInFlightMax` at a time; returns those that failed. */
  private async sendAll(items: readonly Exported[], pending: Map<number, number>): Promise<Exported[]> {
    const failed: Exported[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length && !this.deps.stopped()) {
        const item = items[next++]!;
        try {
          await this.deps.call(MERGE_SERVICE, item.partition, packBody([item.participant, item.bytes]));
          const left = (pending.get(item.partition) ?? 1) - 1;
          if (left > 0) pending.set(item.partition, left);
          else pending.delete(item.partition);
        } catch (err) {
          failed.push(item);
          this.deps.logger.debug({ partition: item.partition, error: err instanceof Error ? err.message : String(err) }, 'merge: handover attempt failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.sendsInFlightMax, items.length) }, worker));
    return failed;
  }

  /**
   * On the owner: reconcile, then pass the chunk on to every backup of the partition and
   * to the destination of a sealed move of it, as a write does: a sealed move sends no
   * change unless asked, and its commit would otherwise leave the merged entries behind.
   * A failed flush fails the handover attempt, which the sender retries.
   */
  private async onOwner(request: ServiceRequest): Promise<Uint8Array | undefined> {
    this.apply(request);
    const flushed = this.deps.flushSealed(request.partition);
    const table = this.deps.table();
    const sends = table.backups(request.partition).map((backup) => this.toBackup(backup, request));
    await Promise.all([flushed, ...sends]);
    return undefined;
  }

  /** On a backup: reconcile if this node holds a replica of the partition. */
  private onReplica(request: ServiceRequest): Uint8Array | undefined {
    const table = this.deps.table();
    if (!table.backups(request.partition).includes(this.deps.self) && table.owner(request.partition) !== this.deps.self) {
      throw new FlotillaError('FLO_NOT_OWNER', `not a replica of partition ${request.partition}`);
    }
    this.apply(request);
    return undefined;
  }

  private apply(request: ServiceRequest): void {
    const [name, bytes] = decodeChunk(request.payload);
    const participant = this.deps.participants.find((p) => p.name === name);
    if (participant === undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', `no participant ${name}`);
    participant.merge(request.partition, bytes);
  }

  /** A backup that cannot take the chunk now gets it on its next migration from the owner. */
  private async toBackup(backup: NodeId, request: ServiceRequest): Promise<void> {
    const address = this.deps.addressOf(backup);
    if (address === undefined) return;
    const message: ServiceRequest = { ...request, service: MERGE_REPLICA_SERVICE, opId: `${this.deps.self}/m${++this.seq}`, forward: false };
    try {
      await this.deps.request(address, message, this.config.replicaTimeoutMs);
    } catch (err) {
      if (!isFlotillaError(err)) throw err;
      this.deps.logger.debug({ backup, partition: request.partition, code: err.code }, 'merge: backup did not take a merged chunk');
    }
  }
}

function decodeChunk(payload: Uint8Array): [string, Uint8Array] {
  const value = unpackBody(payload);
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || !(value[1] instanceof Uint8Array)) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'malformed merge chunk');
  }
  return [value[0], value[1]];
}
