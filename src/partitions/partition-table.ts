/**
 * The cluster partition table: for every partition its owner, backups and epoch, under
 * one table version. The master changes it (`applyAssignments`, `promoteBackups`) and
 * publishes `toData()`; other nodes take newer versions with `applyData`. Versions and
 * epochs only go up.
 *
 * Epochs fence a deposed owner: storage refuses writes carrying a stale epoch, so only
 * a change of owner raises a partition's epoch (including a change to no owner, which
 * fences an owner that is only presumed dead). Backup changes leave it alone: backups do
 * not write to durable storage, so raising it would fail the legitimate owner's
 * in-flight writes and gain nothing.
 */
import { FlotillaError } from '../core/errors.js';
import { DEFAULT_PARTITION_COUNT, type MemberRecord, type NodeId, type PartitionAssignment, type PartitionTableData } from '../core/model.js';
import { NO_OWNER, type ReplicaAssignment } from './assignment.js';
import type { MembersView } from './members-view.js';
import { buildPartitionMap, type PartitionMap } from './partition-map.js';

/** Backups of a partition that has none; shared, like every list the table hands out, frozen. */
const NO_BACKUPS: readonly NodeId[] = Object.freeze([]);

/** What a change to the table did. */
export interface TableChange {
  /** False when the input matched the table; the version did not move. */
  readonly changed: boolean;
  /** The table version after the change. */
  readonly version: number;
  /** Partitions whose owner changed (and so whose epoch was raised), ascending. */
  readonly ownerChanged: readonly number[];
}

/** The least epoch a partition's next owner must go above (besides its current epoch). */
export type EpochFloorOf = (partition: number) => number;

const noFloor: EpochFloorOf = () => 0;

/** Partitions a node holds. */
export interface NodePartitions {
  readonly owned: readonly number[];
  readonly backups: readonly number[];
}

/**
 * The versioned partition table. A new table is version 0 with every partition unowned at epoch 0.
 *
 * Entries handed out (`assignment`, `assignments`, `toData`) are frozen, down to their
 * backup lists, and cached per partition until that partition changes; `toData` is
 * cached per version. The master reads the whole table several times per view change
 * (failover, assignment, plan, publish), and at thousands of partitions rebuilding it
 * each time was most of that cost. Unchanged partitions keep the same entry object
 * across versions, and a published table can be shared and encoded once.
 */
export class ClusterPartitionTable {
  private tableVersion = 0;
  private lineageId: string | undefined;
  private readonly owners: NodeId[];
  private readonly backupLists: (readonly NodeId[])[];
  private readonly epochs: number[];
  /** Frozen entry per partition; undefined once the partition changed, until next read. */
  private readonly entries: (PartitionAssignment | undefined)[];
  /** Frozen data form of the current version; undefined after any change, until next read. */
  private snapshot: PartitionTableData | undefined;

  /** @throws FlotillaError FLO_INVALID_ARGUMENT when `partitionCount` is not a positive integer. */
  constructor(readonly partitionCount: number = DEFAULT_PARTITION_COUNT) {
    if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `partitionCount must be a positive integer, got ${String(partitionCount)}`);
    }
    this.owners = new Array<NodeId>(partitionCount).fill(NO_OWNER);
    this.backupLists = new Array<readonly NodeId[]>(partitionCount).fill(NO_BACKUPS);
    this.epochs = new Array<number>(partitionCount).fill(0);
    this.entries = new Array<PartitionAssignment | undefined>(partitionCount).fill(undefined);
  }

  /** A table holding exactly `data`. @throws FlotillaError FLO_ASSIGNMENT_INVALID when `data` is malformed. */
  static fromData(data: PartitionTableData): ClusterPartitionTable {
    const table = new ClusterPartitionTable(data.partitionCount);
    table.load(data);
    return table;
  }

  /** Raised by one on every change. */
  get version(): number {
    return this.tableVersion;
  }

  /** The line of tables this one continues (see `PartitionTableData.lineage`), if known. */
  get lineage(): string | undefined {
    return this.lineageId;
  }

  /** Names the lineage a master's first table begins. Only before the first version. */
  beginLineage(lineage: string): void {
    if (this.tableVersion !== 0) throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `table version ${this.tableVersion} already continues a lineage`);
    this.lineageId = lineage;
    this.snapshot = undefined;
  }

  /**
   * True when `data` continues another lineage than this table: both name one and they
   * differ. A table without a name (of an earlier version, hand-built) matches any.
   */
  otherLineage(data: PartitionTableData): boolean {
    return this.lineageId !== undefined && data.lineage !== undefined && data.lineage !== this.lineageId;
  }

  /** The owner of `partition`, or undefined when it has none. */
  owner(partition: number): NodeId | undefined {
    const owner = this.owners[this.checkPartition(partition)]!;
    return owner === NO_OWNER ? undefined : owner;
  }

  /** Backups of `partition` in promotion order. */
  backups(partition: number): readonly NodeId[] {
    return this.backupLists[this.checkPartition(partition)]!;
  }

  /** The epoch of `partition`. */
  epoch(partition: number): number {
    return this.epochs[this.checkPartition(partition)]!;
  }

  /** Owner, backups and epoch of `partition`; the owner is `NO_OWNER` when it has none. */
  assignment(partition: number): PartitionAssignment {
    return this.entryOf(this.checkPartition(partition));
  }

  /** Every partition's assignment, by partition (a new array; the entries are shared and frozen). */
  assignments(): PartitionAssignment[] {
    const out = new Array<PartitionAssignment>(this.partitionCount);
    for (let p = 0; p < this.partitionCount; p++) out[p] = this.entryOf(p);
    return out;
  }

  /** Partitions owned by `nodeId` and those it backs up, ascending. */
  partitionsForNode(nodeId: NodeId): NodePartitions {
    const owned: number[] = [];
    const backups: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) {
      if (this.owners[p] === nodeId) owned.push(p);
      else if (this.backupLists[p]!.includes(nodeId)) backups.push(p);
    }
    return { owned, backups };
  }

  /** Partitions that have no owner (their owner died with no live backup), ascending. */
  unowned(): number[] {
    const result: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) if (this.owners[p] === NO_OWNER) result.push(p);
    return result;
  }

  /**
   * Take a full new assignment (one entry per partition, e.g. from `computeAssignment`;
   * epochs in the input are ignored). Raises the epoch of each partition whose owner
   * changed and, if anything changed, the table version by one. On the first table of a
   * lineage (version 0), a new owner's epoch starts above `epochFloor`; at any version
   * above `floorOf(partition)` (the highest epoch this node saw in other lineages).
   * @throws FlotillaError FLO_ASSIGNMENT_INVALID when the input does not cover every
   *   partition exactly once, lacks an owner, or repeats a node within a partition.
   */
  applyAssignments(assignments: readonly ReplicaAssignment[], epochFloor = 0, floorOf: EpochFloorOf = noFloor): TableChange {
    const floor = this.tableVersion === 0 ? epochFloor : 0;
    const byPartition = this.checkAssignments(assignments, false);
    const ownerChanged: number[] = [];
    let changed = false;
    for (let p = 0; p < this.partitionCount; p++) {
      const next = byPartition[p]!;
      if (next.owner !== this.owners[p]) {
        this.owners[p] = next.owner;
        this.epochs[p] = Math.max(this.epochs[p]!, floor, floorOf(p)) + 1;
        ownerChanged.push(p);
        this.touch(p);
        changed = true;
      }
      if (!sameList(next.backups, this.backupLists[p]!)) {
        this.backupLists[p] = Object.freeze([...next.backups]);
        this.touch(p);
        changed = true;
      }
    }
    if (changed) this.tableVersion++;
    return { changed, version: this.tableVersion, ownerChanged };
  }

  /**
   * After a split-brain merge: raises the epoch of every partition where `other` (the
   * table of the cluster that merged in) has a later epoch, or the same epoch under
   * another owner, to one above it, owners unchanged. The table version goes up by one if
   * anything changed. Tables of another partition count change nothing.
   */
  raiseEpochsAbove(other: PartitionTableData): TableChange {
    const raised: number[] = [];
    if (other.partitionCount === this.partitionCount) {
      for (const a of other.assignments) {
        if (epochCovers(this.epochs[a.partition]!, this.owners[a.partition]!, a)) continue;
        this.epochs[a.partition] = a.epoch + 1;
        this.touch(a.partition);
        raised.push(a.partition);
      }
    }
    if (raised.length > 0) this.tableVersion++;
    return { changed: raised.length > 0, version: this.tableVersion, ownerChanged: [] };
  }

  /**
   * Failover, at once and without balancing: drop the dead nodes from every backup list,
   * and give every partition whose owner is dead (or missing) its first live backup as
   * owner, raising its epoch. A partition with no live backup gets the `NO_OWNER` marker
   * (its epoch is raised too, fencing the presumed-dead owner); the next assignment gives
   * it an owner again, whose replica starts from what storage holds. The table version
   * goes up by one if anything changed. A new owner's epoch also goes above `floorOf`.
   */
  promoteBackups(deadNodeIds: Iterable<NodeId>, floorOf: EpochFloorOf = noFloor): TableChange {
    const dead = new Set(deadNodeIds);
    const ownerChanged: number[] = [];
    let changed = false;
    for (let p = 0; p < this.partitionCount; p++) {
      const before = this.backupLists[p]!;
      const owner = this.owners[p]!;
      const ownerGone = owner === NO_OWNER || dead.has(owner);
      // Most partitions hold no dead node: leave them (and their cached entry) untouched.
      if (!ownerGone && !before.some((b) => dead.has(b))) continue;
      const live = before.filter((b) => !dead.has(b));
      if (ownerGone) {
        const promoted = live.shift() ?? NO_OWNER;
        if (promoted !== owner) {
          this.owners[p] = promoted;
          this.epochs[p] = Math.max(this.epochs[p]!, floorOf(p)) + 1;
          ownerChanged.push(p);
          this.touch(p);
          changed = true;
        }
      }
      if (!sameList(live, before)) {
        this.backupLists[p] = Object.freeze(live);
        this.touch(p);
        changed = true;
      }
    }
    if (changed) this.tableVersion++;
    return { changed, version: this.tableVersion, ownerChanged };
  }

  /**
   * Take a table published by the master if it is newer than this one; returns false
   * (and changes nothing) for an older or equal version, which is the normal fate of a
   * duplicate or reordered update.
   * @throws FlotillaError FLO_ASSIGNMENT_INVALID when `data` is malformed, has another
   *   partition count, or lowers some partition's epoch.
   */
  applyData(data: PartitionTableData): boolean {
    if (data.version <= this.tableVersion) return false;
    if (data.partitionCount !== this.partitionCount) {
      throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `table has ${data.partitionCount} partitions, expected ${this.partitionCount}`);
    }
    const byPartition = this.checkAssignments(data.assignments, true);
    byPartition.forEach((a, p) => {
      if (a.epoch < this.epochs[p]!) {
        throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `table version ${data.version} lowers the epoch of partition ${p}`, { partition: p });
      }
    });
    this.install(data.version, byPartition);
    if (data.lineage !== undefined) this.lineageId = data.lineage;
    return true;
  }

  /** Data form, for the wire and for storage (a snapshot: later changes do not show in it). */
  toData(): PartitionTableData {
    this.snapshot ??= Object.freeze({
      version: this.tableVersion,
      partitionCount: this.partitionCount,
      assignments: Object.freeze(this.assignments()),
      ...(this.lineageId === undefined ? {} : { lineage: this.lineageId }),
    });
    return this.snapshot;
  }

  /** The client routing map, with node endpoints and statuses from `members`. */
  toPartitionMap(members: MembersView | readonly MemberRecord[]): PartitionMap {
    return buildPartitionMap(this.toData(), members);
  }

  private checkPartition(partition: number): number {
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `partition ${String(partition)} outside 0..${this.partitionCount - 1}`, { partition });
    }
    return partition;
  }

  private load(data: PartitionTableData): void {
    if (!Number.isSafeInteger(data.version) || data.version < 0) {
      throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `table version must be a non-negative integer, got ${String(data.version)}`);
    }
    this.install(data.version, this.checkAssignments(data.assignments, true));
    this.lineageId = data.lineage;
  }

  /** Take a checked assignment (every partition once, in order) as version `version`. */
  private install(version: number, byPartition: readonly PartitionAssignment[]): void {
    byPartition.forEach((a, p) => {
      if (a.owner === this.owners[p] && a.epoch === this.epochs[p] && sameList(a.backups, this.backupLists[p]!)) return;
      this.owners[p] = a.owner;
      this.backupLists[p] = Object.freeze([...a.backups]);
      this.epochs[p] = a.epoch;
      this.touch(p);
    });
    this.tableVersion = version;
    this.snapshot = undefined;
  }

  /** The cached frozen entry of `p` (a valid index), built on first read after a change. */
  private entryOf(p: number): PartitionAssignment {
    let entry = this.entries[p];
    if (entry === undefined) {
      entry = Object.freeze({ partition: p, owner: this.owners[p]!, backups: this.backupLists[p]!, epoch: this.epochs[p]! });
      this.entries[p] = entry;
    }
    return entry;
  }

  /** Partition `p` changed: drop its cached entry and the cached data form. */
  private touch(p: number): void {
    this.entries[p] = undefined;
    this.snapshot = undefined;
  }

  /** Validate a full assignment and index it by partition. */
  private checkAssignments<T extends ReplicaAssignment & { readonly epoch?: number }>(entries: readonly T[], fromData: boolean): T[] {
    const byPartition = new Array<T | undefined>(this.partitionCount);
    // Runs on every table a node adopts (one per master commit, on every node): no
    // allocation per entry beyond the index.
    for (const entry of entries) {
      const p = entry.partition;
      if (!Number.isSafeInteger(p) || p < 0 || p >= this.partitionCount) invalidEntry(p, `outside 0..${this.partitionCount - 1}`);
      if (byPartition[p] !== undefined) invalidEntry(p, 'listed twice');
      if (entry.owner === NO_OWNER && (!fromData || entry.backups.length > 0)) invalidEntry(p, 'has no owner');
      if (!distinctReplicas(entry.owner, entry.backups)) invalidEntry(p, 'repeats a node or names an empty one');
      if (fromData && (!Number.isSafeInteger(entry.epoch) || entry.epoch! < 0)) invalidEntry(p, 'epoch must be a non-negative integer');
      byPartition[p] = entry;
    }
    if (entries.length !== this.partitionCount) {
      throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `expected ${this.partitionCount} partitions, got ${entries.length}`);
    }
    return byPartition as T[];
  }
}

function invalidEntry(partition: number, why: string): never {
  throw new FlotillaError('FLO_ASSIGNMENT_INVALID', `partition ${String(partition)}: ${why}`, { partition });
}

/** The owner and backups name distinct nodes, and no backup is empty (backup lists are short). */
function distinctReplicas(owner: NodeId, backups: readonly NodeId[]): boolean {
  for (let i = 0; i < backups.length; i++) {
    const b = backups[i]!;
    if (b === NO_OWNER || b === owner) return false;
    for (let j = 0; j < i; j++) if (backups[j] === b) return false;
  }
  return true;
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * True when a partition at `epoch` under `owner` needs no raise over `other`'s assignment
 * of it: a later epoch, or the same epoch and owner (one claim, not two).
 */
export function epochCovers(epoch: number, owner: NodeId, other: PartitionAssignment): boolean {
  return epoch > other.epoch || (epoch === other.epoch && owner === other.owner);
}
