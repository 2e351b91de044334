/**
 * The split-brain rule, as a pure function both masters evaluate on the same two
 * summaries: the cluster with fewer members merges into the larger one; at equal sizes
 * the cluster whose master is older (lower join version, then lower node id) wins. Being
 * a total order on (member count, master age), exactly one of two distinct clusters loses.
 */
import type { ClusterSummary } from '../protocol/messages.js';

/**
 * Positive when cluster `a` wins over `b`, negative when it loses, 0 when both describe
 * the same master (one cluster).
 */
export function compareClusters(a: ClusterSummary, b: ClusterSummary): number {
  if (a.masterId === b.masterId) return 0;
  if (a.memberCount !== b.memberCount) return a.memberCount - b.memberCount;
  if (a.masterJoinVersion !== b.masterJoinVersion) return b.masterJoinVersion - a.masterJoinVersion;
  return a.masterId < b.masterId ? 1 : -1;
}

/** True when the cluster of `local` must merge into the cluster of `remote`. */
export function shouldMerge(local: ClusterSummary, remote: ClusterSummary): boolean {
  return local.clusterId === remote.clusterId && compareClusters(local, remote) < 0;
}
