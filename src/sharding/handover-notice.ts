/**
 * How an owner learns that data of a partition is still on its way to it after a
 * split-brain merge or a lineage change. The node handing data over advertises, in a
 * membership tag, the partitions it exported and has not finished handing over; it sets
 * the tag when it leaves its old table, before it joins the winner, so the winner's
 * members see the tag as soon as they see the node. Until the tag clears, an owner that
 * finds a key absent in such a partition cannot tell "never written" from "not here yet",
 * and answers FLO_PARTITION_SYNCING (retryable) instead.
 */
import type { MembersViewData, NodeId, Tags } from '../core/model.js';
import { MERGING_TAG } from '../core/merge-tags.js';
import type { ShardingEnv } from './service.js';

/** The membership tag of a node with merge handovers in progress: the partitions, as a base64 bitmap (`*`: all of them). */
export const HANDOVER_TAG = 'flotilla.handover';

/** The tag value naming every partition, for tags with no room for the bitmap. */
export const HANDOVER_ALL = '*';

/** The tag value for `partitions` (empty string: none). */
export function encodeHandoverTag(partitions: Iterable<number>, partitionCount: number): string {
  const bits = new Uint8Array(Math.ceil(partitionCount / 8));
  let any = false;
  for (const p of partitions) {
    if (p < 0 || p >= partitionCount) continue;
    bits[p >> 3]! |= 1 << (p & 7);
    any = true;
  }
  return any ? Buffer.from(bits).toString('base64') : '';
}

/** The partitions a tag value names; a malformed value names every partition (held reads are safe, wrong absents are not). */
export function decodeHandoverTag(value: string, partitionCount: number): Uint8Array {
  const bytes = Math.ceil(partitionCount / 8);
  const decoded = value === HANDOVER_ALL ? new Uint8Array(0) : Buffer.from(value, 'base64');
  if (decoded.byteLength !== bytes) return new Uint8Array(bytes).fill(0xff);
  return new Uint8Array(decoded);
}

/** Which partitions the members of a view still receive handed-over data for, cached per view. */
export class HandoverNotices {
  private view: MembersViewData | undefined;
  private pending: Uint8Array | undefined;

  constructor(
    private readonly self: NodeId,
    private readonly partitionCount: number,
  ) {}

  /** True when a member of `view` other than this node advertises a handover of `partition`. */
  announced(view: MembersViewData, partition: number): boolean {
    if (view !== this.view) {
      this.view = view;
      this.pending = this.collect(view);
    }
    return this.pending !== undefined && (this.pending[partition >> 3]! & (1 << (partition & 7))) !== 0;
  }

  private collect(view: MembersViewData): Uint8Array | undefined {
    let out: Uint8Array | undefined;
    for (const m of view.members) {
      // A member still joining after a merge has not said which partitions yet: all of them.
      const value = m.tags[MERGING_TAG] !== undefined ? HANDOVER_ALL : tagOf(m.tags);
      // A dead member's handover will not finish: holding reads for it would only stall them.
      if (m.nodeId === this.self || m.status === 'dead' || value === undefined || value === '') continue;
      const bits = decodeHandoverTag(value, this.partitionCount);
      out ??= new Uint8Array(bits.byteLength);
      for (let i = 0; i < bits.byteLength; i++) out[i]! |= bits[i]!;
    }
    return out;
  }
}

function tagOf(tags: Tags): string | undefined {
  return tags[HANDOVER_TAG];
}

/** Tells peers which partitions this node still hands over; user tags too large for the bitmap leave room for "all" only. */
export function advertiseHandover(env: Pick<ShardingEnv, 'advertise' | 'logger'>, value: string): void {
  for (const v of value === '' ? [value] : [value, HANDOVER_ALL]) {
    try {
      env.advertise?.({ [HANDOVER_TAG]: v });
      return;
    } catch (err) {
      env.logger.warn({ err }, 'merge: could not advertise the partitions still handed over');
    }
  }
}
