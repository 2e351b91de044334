/**
 * The highest claim (epoch and owner) a node has seen for each partition in any table it
 * held, kept across the coordinator restarts of a split-brain merge or a lineage change.
 * A fresh coordinator starts from an empty table, so without this memory a node that
 * then masters a cluster of its own would count epochs up from zero again and repeat
 * epochs its earlier lineages gave other owners; storage fences by epoch, so two owners
 * at one epoch would both be let through. With it, a master gives every new owner an
 * epoch above the node's memory, and a node reports its memory (not only its last table)
 * to the master of the cluster it joins, which raises its epochs above it.
 */
import type { NodeId, PartitionAssignment, PartitionTableData } from '../core/model.js';
import { NO_OWNER } from './assignment.js';
import type { PartitionTableReader } from './coordinator-table.js';

/** Per partition, the claim with the highest epoch this node has held a table with. */
export class EpochMemory {
  private readonly claims: (PartitionAssignment | undefined)[];
  /** Version of the newest table recorded (any lineage): the version a report carries. */
  private newestVersion = 0;

  constructor(readonly partitionCount: number) {
    this.claims = new Array<PartitionAssignment | undefined>(partitionCount).fill(undefined);
  }

  /** Remember every claim of `table` above what is held; tables of another partition count are ignored. */
  record(table: PartitionTableReader | PartitionTableData): void {
    if (table.partitionCount !== this.partitionCount || table.version === 0) return;
    const assignments = 'toData' in table ? table.toData().assignments : table.assignments;
    for (const a of assignments) {
      const held = this.claims[a.partition];
      if (held === undefined || a.epoch > held.epoch) this.claims[a.partition] = a;
    }
    if (table.version > this.newestVersion) this.newestVersion = table.version;
  }

  /** The highest epoch seen for `partition` (0 when none): a new owner's epoch goes above it. */
  epochOf(partition: number): number {
    return this.claims[partition]?.epoch ?? 0;
  }

  /**
   * Every remembered claim as one table (partitions never seen are unowned at epoch 0),
   * for the master of a cluster this node joins to raise its epochs above; undefined
   * when nothing was ever recorded.
   */
  asTable(): PartitionTableData | undefined {
    if (this.newestVersion === 0) return undefined;
    const assignments = this.claims.map((a, partition) => a ?? unclaimed(partition));
    return { version: this.newestVersion, partitionCount: this.partitionCount, assignments };
  }
}

const NO_BACKUPS: readonly NodeId[] = Object.freeze([]);

function unclaimed(partition: number): PartitionAssignment {
  return { partition, owner: NO_OWNER, backups: NO_BACKUPS, epoch: 0 };
}
