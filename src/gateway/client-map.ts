/**
 * The partition map clients route by: the node's partition table with each owner's
 * client-facing URL, which every gateway advertises as the node tag `clientUrl` (the
 * address clients reach, not the cluster port), so any node can tell a client where
 * every partition's owner is. The map also carries the node's own quorum verdict, so a
 * client talking to both sides of a split routes writes by the side that accepts them.
 */
import type { PartitionTableData } from '../core/model.js';
import type { Member } from '../membership/events.js';
import type { ClientNode, ClientPartitionMap } from '../protocol/client-frames.js';

/** The node tag carrying a node's client-facing gateway URL. */
export const CLIENT_URL_TAG = 'clientUrl';

/** The client partition map of `table` and `members` (undefined before the first table); `writable` is the node's quorum verdict. */
export function buildClientMap(table: PartitionTableData | undefined, members: readonly Member[], writable: boolean): ClientPartitionMap | undefined {
  if (table === undefined) return undefined;
  const nodes: ClientNode[] = [];
  const index = new Map<string, number>();
  for (const m of members) {
    const url = m.tags[CLIENT_URL_TAG];
    if (url === undefined || (m.state !== 'alive' && m.state !== 'suspect')) continue;
    index.set(m.nodeId, nodes.length);
    nodes.push({ nodeId: m.nodeId, url });
  }
  const owners = table.assignments.map((a) => index.get(a.owner) ?? -1);
  return { version: table.version, partitionCount: table.partitionCount, owners, nodes, writable };
}

/** A cheap signature of a map: equal signatures mean no client needs a new push. */
export function mapSignature(map: ClientPartitionMap | undefined): string {
  if (map === undefined) return '';
  // The verdict is part of it: a node whose verdict flips pushes at once, table unchanged or not.
  return `${map.writable ? 'w' : 'r'}|${map.version}|${map.nodes.map((n) => `${n.nodeId}=${n.url}`).join(',')}|${map.owners.filter((o) => o === -1).length}`;
}
