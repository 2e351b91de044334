// Client partition map: member status -> client status mapping, endpoints (client
// address first), unowned partitions as null, and agreement with the table.
import { describe, expect, it } from 'vitest';
import type { MemberStatus } from '../../src/core/model.js';
import {
  buildPartitionMap,
  type ClientNodeStatus,
  clientNodeStatus,
  ClusterPartitionTable,
  MembersView,
} from '../../src/partitions/index.js';
import { member } from './fixtures.js';

describe('clientNodeStatus', () => {
  it.each<[MemberStatus, ClientNodeStatus]>([
    ['active', 'up'],
    ['suspect', 'suspect'],
    ['leaving', 'leaving'],
    ['dead', 'down'],
  ])('%s -> %s', (status, expected) => {
    expect(clientNodeStatus(status)).toBe(expected);
  });
});

describe('toPartitionMap', () => {
  const view = new MembersView({
    version: 3,
    members: [
      { ...member('b', 1), clientAddress: 'ws://b.example:8080' },
      member('a', 0),
      member('c', 2, 'dead'),
      member('d', 3, 'suspect'),
    ],
  });

  function table(): ClusterPartitionTable {
    const t = new ClusterPartitionTable(3);
    t.applyAssignments([
      { partition: 0, owner: 'a', backups: ['b'] },
      { partition: 1, owner: 'b', backups: ['c'] },
      { partition: 2, owner: 'c', backups: [] },
    ]);
    t.promoteBackups(['c']);
    return t;
  }

  it('lists every member with its endpoint and client status, oldest first', () => {
    const map = table().toPartitionMap(view);
    expect(map.nodes).toEqual([
      { nodeId: 'a', endpoint: 'a.local:7000', status: 'up' },
      { nodeId: 'b', endpoint: 'ws://b.example:8080', status: 'up' },
      { nodeId: 'c', endpoint: 'c.local:7000', status: 'down' },
      { nodeId: 'd', endpoint: 'd.local:7000', status: 'suspect' },
    ]);
  });

  it('carries the table version and partitions, with null for an unowned partition', () => {
    const t = table();
    const map = t.toPartitionMap(view);
    expect(map.version).toBe(t.version);
    expect(map.partitionCount).toBe(3);
    expect(map.partitions).toEqual([
      { partition: 0, owner: 'a', backups: ['b'] },
      { partition: 1, owner: 'b', backups: [] },
      { partition: 2, owner: null, backups: [] },
    ]);
  });

  it('accepts plain member records as well as a view', () => {
    const t = table();
    expect(buildPartitionMap(t.toData(), [...view.members()].reverse())).toEqual(t.toPartitionMap(view));
  });
});
