/**
 * The data side of migrations, driven by the partition coordinator's events. As source
 * it starts capturing changes and runs one `OutgoingMigration` per migration, fanning
 * the captured changes out to every migration streaming the same partition; as
 * destination it applies `MigrateData` through an `IncomingMigration` and reports
 * readiness. On commit the source drops or keeps its replica by the table and the
 * destination serves; on cancel the destination discards and the source keeps
 * everything. Also what a table change means for data held here.
 */
import type { Address, NodeId } from '../core/model.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { LineageDivergedEvent, MigrationInfo, MigrationSide, PartitionEvent, TableChangedEvent } from '../partitions/coordinator-events.js';
import type { Message, MigrateData, ServiceResponse } from '../protocol/messages.js';
import { IncomingMigration } from './migration-incoming.js';
import type { MigrationConfig } from './config.js';
import { OutgoingMigration } from './migration-outgoing.js';
import type { MigrationParticipant, ParticipantRole } from './participant.js';
import type { Logger as NodeLogger } from '../core/logger.js';

/** What the executor needs from the sharding layer. */
export interface ExecutorDeps {
  readonly self: NodeId;
  readonly participants: readonly MigrationParticipant[];
  readonly config: MigrationConfig;
  readonly logger: NodeLogger;
  request(to: Address, message: Message, timeoutMs: number): Promise<Message>;
  addressOf(nodeId: NodeId): Address | undefined;
  /** This node's role for `partition` in its current table. */
  roleOf(partition: number): ParticipantRole;
  /** The owner of `partition` in this node's current table. */
  ownerOf(partition: number): NodeId | undefined;
  /** The master this node follows (itself when master). */
  master(): NodeId | undefined;
  /** Incoming migration caught up: tell the coordinator (`localMigrationReady`). */
  ready(migrationId: string, lastSeq: number): void;
  /** This node's side failed: tell the coordinator (`localMigrationFailed`). */
  failed(migrationId: string, reason: string): void;
  /**
   * Send what this node holds of `partitions` to their owners in the current table, to be
   * reconciled there (last writer wins), then drop what the table no longer gives this
   * node: the split-brain merge's handover.
   */
  handOver(partitions: readonly number[]): void;
  /** True while a handover still has data of `partition` to export or send. */
  handingOver(partition: number): boolean;
  sleep(ms: number): Promise<void>;
}

/** Counts for the admin API and tests. */
export interface ExecutorStatus {
  readonly outgoing: number;
  readonly sealed: number;
  readonly incoming: number;
  readonly failures: number;
  /** Changes sent one by one to sealed migrations (writes that waited for a destination). */
  readonly sealedFlushes: number;
}

/** Runs this node's side of every migration it takes part in. */
export class MigrationExecutor {
  private readonly outgoing = new Map<string, OutgoingMigration>();
  private readonly groups = new Map<number, Set<OutgoingMigration>>();
  private readonly incoming = new Map<string, IncomingMigration>();
  private readonly finished = new Map<string, IncomingMigration>();
  private readonly byName: ReadonlyMap<string, MigrationParticipant>;
  private failures = 0;
  /** Partitions whose ownership a table took while a sealed move of them waited for its commit. */
  private readonly awaitingCommit = new Set<number>();
  /** Copies kept after a committed move away, by partition: the destination and the master of the commit. */
  private readonly retained = new Map<number, { readonly destination: NodeId; readonly master: NodeId | undefined }>();
  private sealedFlushes = 0;
  private stopped = false;

  constructor(private readonly deps: ExecutorDeps) {
    this.byName = new Map(deps.participants.map((p) => [p.name, p]));
  }

  /** A coordinator event about the table or a migration this node takes part in. */
  onEvent(event: Exclude<PartitionEvent, LineageDivergedEvent>): void {
    if (event.type === 'TableChanged') this.onTableChanged(event);
    else if (event.type === 'MigrationStart') this.onStart(event.migration, event.localRole);
    else if (event.type === 'MigrationFinalize') this.onFinalize(event.migration, event.localRole, event.epoch);
    else this.onCancel(event.migration, event.localRole);
  }

  /** The master started a migration this node takes part in. */
  onStart(info: MigrationInfo, side: MigrationSide): void {
    if (this.stopped) return;
    if (side === 'source') this.startOutgoing(info);
    else this.startIncoming(info);
  }

  /**
   * The migration committed: the table naming its outcome has already been applied.
   * `epoch` is the partition's epoch in that table (default: the one the move planned).
   */
  onFinalize(info: MigrationInfo, side: MigrationSide, epoch = info.epoch): void {
    const { partition } = info;
    if (side === 'source') {
      this.release(info.migrationId, false);
      if (!this.sealedMove(partition)) this.awaitingCommit.delete(partition);
      if (info.role === 'owner') this.retain(partition, info.destination);
      this.settle(partition);
      return;
    }
    const incoming = this.incoming.get(info.migrationId);
    if (incoming !== undefined) {
      this.incoming.delete(info.migrationId);
      incoming.finished = true;
      this.remember(incoming);
    }
    // A finalize can outrun the table that commits it; the data then waits for that table.
    const role = this.deps.roleOf(partition);
    if (role !== 'none') for (const p of this.deps.participants) p.finalize(partition, role);
    // A backup copy that lands under a later ownership epoch came from an owner the
    // partition has since left (a new master that found the partition without a live
    // owner named this node backup afresh, and the copy counts as committed): it can hold
    // writes that owner acknowledged alone, which the new owner never received.
    if (info.role === 'backup' && epoch !== info.epoch && role === 'backup' && this.deps.ownerOf(partition) !== info.source) {
      this.handOver([partition], `backup copy ${info.migrationId} from ${info.source}, a former owner`);
    }
  }

  /** The migration was called off. */
  onCancel(info: MigrationInfo, side: MigrationSide): void {
    const { partition } = info;
    if (side === 'source') {
      if (this.release(info.migrationId, true)) for (const p of this.deps.participants) p.cancel(partition, 'source');
      this.moveEndedUncommitted(partition, `move ${info.migrationId} called off`);
      this.settle(partition);
      return;
    }
    if (!this.incoming.delete(info.migrationId)) return;
    this.discardIfUnheld(partition);
  }

  /**
   * The table changed: drop what this node no longer holds, keep what it still receives or
   * streams. Ownership taken away without a sealed move from here (the others held this
   * node dead: a pause, a one-sided cut) is handed over instead: writes this node
   * acknowledged while the partition had no backup in place exist nowhere else.
   */
  onTableChanged(event: TableChangedEvent): void {
    for (const change of event.localGained) {
      for (const p of this.deps.participants) p.finalize(change.partition, change.after);
    }
    const orphaned: number[] = [];
    for (const change of event.localLost) {
      const { partition } = change;
      const lostOwnership = change.before === 'owner' && change.after !== 'owner';
      // A sealed move's commit carries every change; whether this loss is that commit shows
      // when the move is finalized or called off.
      if (lostOwnership && this.sealedMove(partition)) this.awaitingCommit.add(partition);
      const unmoved = lostOwnership && !this.awaitingCommit.has(partition);
      if (unmoved) orphaned.push(partition);
      if (change.after !== 'none') {
        for (const p of this.deps.participants) p.finalize(partition, change.after);
        continue;
      }
      // Streams still copying lost their data source; sealed ones finish with their commit.
      for (const stream of [...(this.groups.get(partition) ?? [])]) {
        if (stream.state !== 'sealed') stream.fail(new FlotillaError('FLO_NOT_OWNER', `partition ${partition} left this node`));
      }
      if (!unmoved) this.settle(partition);
    }
    for (const partition of event.changedPartitions) {
      const kept = this.retained.get(partition);
      if (kept === undefined) continue;
      // Under the master that committed the move, a table naming the destination owner
      // follows that commit, and one naming another owner is a later move from the
      // destination. Under another master the commit may never have reached the cluster,
      // even when that master, choosing afresh, named the same node owner: the destination
      // had called the copy off on the master change and holds none of it.
      const sameMaster = this.deps.master() === kept.master;
      if (sameMaster && this.deps.ownerOf(partition) === kept.destination) continue;
      this.retained.delete(partition);
      if (sameMaster) this.settle(partition);
      else if (this.deps.roleOf(partition) !== 'owner') orphaned.push(partition);
    }
    if (orphaned.length === 0) return;
    this.handOver(orphaned, `table version ${event.version}`);
    // The handover drops the copied data once exported.
    for (const partition of orphaned) this.settle(partition);
  }

  /**
   * Keep the copy of a partition whose move to `destination` just committed for a while:
   * a commit by a master the others had replaced reaches a destination that already
   * called the copy off, and the owner they chose instead starts empty. A table from
   * another master in that time makes this node hand it over.
   */
  private retain(partition: number, destination: NodeId): void {
    if (this.deps.config.movedCopyRetainMs === 0) return;
    const entry = { destination, master: this.deps.master() };
    this.retained.set(partition, entry);
    void this.deps.sleep(this.deps.config.movedCopyRetainMs).then(() => {
      if (this.retained.get(partition) !== entry) return;
      this.retained.delete(partition);
      if (!this.stopped) this.settle(partition);
    });
  }

  private handOver(partitions: readonly number[], why: string): void {
    this.deps.logger.warn({ partitions: partitions.length, why }, 'handing data held here over to the owners the table names (merged there, last writer wins)');
    this.deps.handOver(partitions);
  }

  /** A sealed move of `partition` ended without its commit: the loss of ownership it was to explain was not a move. */
  private moveEndedUncommitted(partition: number, why: string): void {
    if (this.sealedMove(partition) || !this.awaitingCommit.delete(partition)) return;
    this.handOver([partition], why);
  }

  /** True when a sealed migration streams `partition` from here: its commit carries every change. */
  private sealedMove(partition: number): boolean {
    for (const stream of this.groups.get(partition) ?? []) if (stream.state === 'sealed') return true;
    return false;
  }

  /** A `MigrateData` request from `from`; always answers (never throws). */
  onData(from: Address, message: MigrateData): ServiceResponse {
    const opId = String(message.seq);
    const incoming = this.incoming.get(message.migrationId) ?? this.finished.get(message.migrationId);
    if (incoming === undefined) return failure(opId, 'FLO_NOT_FOUND', `no migration ${message.migrationId} here`);
    if (incoming.info.partition !== message.partition || incoming.sourceAddress !== from) {
      return failure(opId, 'FLO_INVALID_ARGUMENT', `migration ${message.migrationId} does not come from ${from} for partition ${message.partition}`);
    }
    if (incoming.finished && this.deps.roleOf(message.partition) === 'none') return { type: 'ServiceResponse', opId, ok: true };
    try {
      const progress = incoming.accept(message);
      if (progress === 'caught-up' && !incoming.finished) this.deps.ready(message.migrationId, incoming.lastSeq);
      return { type: 'ServiceResponse', opId, ok: true };
    } catch (error) {
      const err = isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', String(error));
      if (!incoming.finished && this.incoming.delete(message.migrationId)) {
        this.failures++;
        this.discardIfUnheld(message.partition);
        this.deps.failed(message.migrationId, `${err.code}: ${err.message}`);
      }
      return failure(opId, err.code, err.message);
    }
  }

  /**
   * Send the changes made to `partition` so far to every sealed migration streaming it,
   * and resolve once their destinations have them. Call right after each change, before
   * anything else runs, and acknowledge the change only once this resolves.
   */
  flushSealed(partition: number): Promise<void> {
    const group = this.groups.get(partition);
    if (group === undefined) return Promise.resolve();
    this.collect(partition);
    const flushes: Promise<void>[] = [];
    for (const stream of group) if (stream.state === 'sealed') flushes.push(stream.flush());
    if (flushes.length === 0) return Promise.resolve();
    this.sealedFlushes++;
    return Promise.all(flushes).then(() => undefined);
  }

  /** True while some incoming migration of `partition` is copying here. */
  isReceiving(partition: number): boolean {
    for (const incoming of this.incoming.values()) if (incoming.info.partition === partition) return true;
    return false;
  }

  /** True while some outgoing migration streams `partition`. */
  isStreaming(partition: number): boolean {
    return this.groups.has(partition);
  }

  status(): ExecutorStatus {
    let sealed = 0;
    for (const s of this.outgoing.values()) if (s.state === 'sealed') sealed++;
    return { outgoing: this.outgoing.size, sealed, incoming: this.incoming.size, failures: this.failures, sealedFlushes: this.sealedFlushes };
  }

  /** Stop everything (the node is stopping); nothing is reported to the coordinator any more. */
  stop(): void {
    this.stopped = true;
    for (const id of [...this.outgoing.keys()]) this.release(id, true);
    this.incoming.clear();
    // Moves that will never be finalized now, and copies no later table will check (a merge
    // or a lineage change rebuilds the parts): hand them to whoever owns them next.
    const unsettled = [...new Set([...this.awaitingCommit, ...this.retained.keys()])];
    if (unsettled.length > 0) this.handOver(unsettled, 'moves awaiting their commit or kept after it stopped');
    this.awaitingCommit.clear();
    this.retained.clear();
  }

  private startOutgoing(info: MigrationInfo): void {
    if (this.outgoing.has(info.migrationId)) return;
    const destination = this.deps.addressOf(info.destination);
    if (destination === undefined) return this.reportFailure(info.migrationId, `destination ${info.destination} has no address`);
    if (this.deps.roleOf(info.partition) === 'none') return this.reportFailure(info.migrationId, `partition ${info.partition} is not held here`);
    const { partition } = info;
    this.collect(partition);
    const stream: OutgoingMigration = new OutgoingMigration(info, destination, {
      participants: this.deps.participants,
      config: this.deps.config,
      request: (to, message, timeoutMs) => this.deps.request(to, message, timeoutMs),
      collect: () => this.collect(partition),
      onFailed: (reason) => {
        if (!this.release(info.migrationId, false)) return;
        this.reportFailure(info.migrationId, reason);
        this.moveEndedUncommitted(partition, `move ${info.migrationId} failed`);
      },
      sleep: (ms) => this.deps.sleep(ms),
    });
    this.outgoing.set(info.migrationId, stream);
    let group = this.groups.get(partition);
    if (group === undefined) this.groups.set(partition, (group = new Set()));
    group.add(stream);
    for (const p of this.deps.participants) p.beginCapture(partition);
    void stream.run();
  }

  private startIncoming(info: MigrationInfo): void {
    if (this.incoming.has(info.migrationId)) return;
    const source = this.deps.addressOf(info.source);
    if (source === undefined) return this.reportFailure(info.migrationId, `source ${info.source} has no address`);
    // Leftovers of an earlier attempt must not mix with the new copy; data still to be
    // handed over is not a leftover.
    if (this.deps.roleOf(info.partition) === 'none' && !this.isReceiving(info.partition) && !this.deps.handingOver(info.partition) && !this.retained.has(info.partition)) {
      for (const p of this.deps.participants) p.cancel(info.partition, 'destination');
    }
    this.incoming.set(info.migrationId, new IncomingMigration(info, source, this.byName, this.deps.config.reorderBufferMax));
  }

  /** Stop an outgoing migration and end its capture; false when it was not running. */
  private release(migrationId: string, cancelled: boolean): boolean {
    const stream = this.outgoing.get(migrationId);
    if (stream === undefined) return false;
    this.outgoing.delete(migrationId);
    const { partition } = stream.info;
    const group = this.groups.get(partition);
    group?.delete(stream);
    if (group?.size === 0) this.groups.delete(partition);
    for (const p of this.deps.participants) p.endCapture(partition);
    stream.end(cancelled);
    return true;
  }

  /** Apply the table's verdict on `partition` once nothing streams or receives it. */
  private settle(partition: number): void {
    if (this.groups.has(partition) || this.isReceiving(partition)) return;
    const role = this.deps.roleOf(partition);
    // A copy still to be handed over, or kept after a move, stays with the participants
    // that copy data (the handover or the end of the keeping drops it); the others hear now.
    const keep = role === 'none' && (this.deps.handingOver(partition) || this.retained.has(partition));
    for (const p of this.deps.participants) if (!(keep && p.copiesData === true)) p.finalize(partition, role);
  }

  private discardIfUnheld(partition: number): void {
    if (this.deps.roleOf(partition) !== 'none' || this.isReceiving(partition) || this.deps.handingOver(partition) || this.retained.has(partition)) return;
    for (const p of this.deps.participants) p.cancel(partition, 'destination');
  }

  /** Move every participant's captured changes of `partition` into the queues of its migrations. */
  private collect(partition: number): void {
    const group = this.groups.get(partition);
    if (group === undefined) return;
    for (const participant of this.deps.participants) {
      for (const bytes of participant.takeDeltas(partition)) {
        for (const stream of group) stream.enqueue({ service: participant.name, bytes });
      }
    }
  }

  private remember(incoming: IncomingMigration): void {
    if (this.deps.config.finishedMigrationsMax === 0) return;
    this.finished.set(incoming.info.migrationId, incoming);
    if (this.finished.size > this.deps.config.finishedMigrationsMax) {
      const oldest = this.finished.keys().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }

  private reportFailure(migrationId: string, reason: string): void {
    this.failures++;
    if (this.stopped) return;
    this.deps.logger.warn({ migrationId, reason }, 'migration failed');
    this.deps.failed(migrationId, reason);
  }
}

function failure(opId: string, code: string, message: string): ServiceResponse {
  return { type: 'ServiceResponse', opId, ok: false, errorCode: code, errorMessage: message.slice(0, 512) };
}
