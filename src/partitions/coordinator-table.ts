/**
 * A node's copy of the partition table and the one path by which it changes: the
 * master's own edits (checked: version + 1, no epoch lowered) and newer published tables
 * (taken only if newer and well formed). Every change becomes a `TableChanged` event.
 */
import { assert, isFlotillaError } from '../core/errors.js';
import { NO_OWNER } from './assignment.js';
import type { NodeId, PartitionTableData } from '../core/model.js';
import type { CoordinatorCounters } from './coordinator-context.js';
import { diffTables, type TableChangedEvent } from './coordinator-events.js';
import type { EpochMemory } from './epoch-memory.js';
import { ClusterPartitionTable, type TableChange } from './partition-table.js';

/** Read-only face of the coordinator's table: the driver routes by it but never changes it. */
export type PartitionTableReader = Pick<
  ClusterPartitionTable,
  'version' | 'partitionCount' | 'owner' | 'backups' | 'epoch' | 'assignment' | 'assignments' | 'partitionsForNode' | 'unowned' | 'toData' | 'toPartitionMap'
>;

/** The local table, its invariants, and its change events. */
export class LocalTable {
  readonly table: ClusterPartitionTable;

  constructor(
    private readonly self: NodeId,
    partitionCount: number,
    private readonly counters: CoordinatorCounters,
    private readonly emit: (event: TableChangedEvent) => void,
    /** Every claim this table ever makes is remembered here, across coordinator restarts. */
    readonly memory: EpochMemory,
  ) {
    this.table = new ClusterPartitionTable(partitionCount);
  }

  /** Take a starting table (a `JoinResponse`, storage) before any event is wanted. */
  load(data: PartitionTableData): void {
    this.table.applyData(data);
    this.memory.record(this.table);
  }

  /**
   * Change the table in place; when it changed, check the invariants and emit the event.
   * A table without versions (this master's first) begins `lineage`.
   */
  change(apply: (table: ClusterPartitionTable) => TableChange, lineage: string): TableChange {
    if (this.table.version === 0 && this.table.lineage === undefined) this.table.beginLineage(lineage);
    const before = this.table.toData();
    const change = apply(this.table);
    if (!change.changed) return change;
    assert(change.version === before.version + 1, `table version went from ${before.version} to ${change.version}`);
    for (const a of before.assignments) {
      assert(this.table.epoch(a.partition) >= a.epoch, `epoch of partition ${a.partition} went down`);
    }
    this.memory.record(this.table);
    this.emit(diffTables(before, this.table.toData(), this.self));
    return change;
  }

  /**
   * Take `data` if it is newer and continues this node's lineage; a malformed or
   * epoch-lowering table is counted and refused. A newer table of another lineage is
   * refused too: its epochs may all be higher (its master raised them above the tables
   * merged into it), yet this node never handed over what it holds under its own.
   */
  adopt(data: PartitionTableData): boolean {
    if (data.version <= this.table.version || (this.table.version > 0 && this.table.otherLineage(data))) return false;
    const before = this.table.toData();
    try {
      if (!this.table.applyData(data)) return false;
    } catch (err) {
      if (!isFlotillaError(err)) throw err;
      this.counters.tablesRejected++;
      return false;
    }
    this.memory.record(data);
    // `data` passed validation and is now the table, so it serves as the "after" side.
    this.emit(diffTables(before, data, this.self));
    return true;
  }

  /**
   * Whether `data`, a table of the master that `adopt` did not take, comes from another
   * lineage than this node's: named another, older, as old but unlike, or newer yet
   * refused (it lowers an epoch). The master only ever publishes newer versions of its own table, on FIFO
   * links, so none of these is a stale copy. A node without a table yet has no lineage;
   * a table of another partition count is a misconfiguration, not a lineage.
   */
  diverges(data: PartitionTableData): boolean {
    const table = this.table;
    if (table.version === 0 || data.partitionCount !== table.partitionCount) return false;
    if (data.version !== table.version || table.otherLineage(data)) return true;
    return data.assignments.some((a) => a.owner !== (table.owner(a.partition) ?? NO_OWNER) || a.epoch !== table.epoch(a.partition) || !sameList(a.backups, table.backups(a.partition)));
  }
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
