/**
 * A node that merged into another cluster after a network split brings the table of the
 * cluster it left. Both sides raised epochs on their own during the split, so the
 * winner's table may reuse an epoch the losing side gave another owner, and storage,
 * which fences by epoch, would then refuse the winner's owner (or accept two owners at
 * one epoch). Until the master's table beats every epoch of the old one, the node
 * reports it to its master (`MergedTable`), which raises its epochs above it. The first
 * report goes out even when the master's table already covers the old one: it is also
 * how the master learns that this node's partition state started over, so that it calls
 * off the migrations it ordered from the old state instead of waiting out their timeout.
 */
import type { NodeId, PartitionTableData } from '../core/model.js';
import type { MergedTable } from '../protocol/messages.js';
import { NO_OWNER } from './assignment.js';
import type { PartitionTableReader } from './coordinator-table.js';
import { epochCovers } from './partition-table.js';

/** The old table of a merged node, until the current table covers its epochs. */
export class MergedEpochs {
  private pending: PartitionTableData | undefined;
  /** The old table until the master has been told once that this node started over. */
  private unannounced: PartitionTableData | undefined;

  constructor(
    private readonly self: NodeId,
    oldTable: PartitionTableData | undefined,
  ) {
    this.pending = oldTable !== undefined && oldTable.version > 0 ? oldTable : undefined;
    this.unannounced = this.pending;
  }

  /** The old table, while `current` does not yet cover it; undefined (and forgotten) once it does. */
  uncovered(current: PartitionTableReader): PartitionTableData | undefined {
    const old = this.pending;
    if (old === undefined || current.version === 0) return old;
    if (old.partitionCount !== current.partitionCount || old.assignments.every((a) => epochCovers(current.epoch(a.partition), current.owner(a.partition) ?? NO_OWNER, a))) {
      this.pending = undefined;
    }
    return this.pending;
  }

  /** The report for the master (the first one always), or undefined when there is nothing (left) to report. */
  report(current: PartitionTableReader): MergedTable | undefined {
    const table = this.uncovered(current) ?? this.unannounced;
    this.unannounced = undefined;
    return table === undefined ? undefined : { type: 'MergedTable', from: this.self, table };
  }
}
