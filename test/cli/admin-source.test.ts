// The node-to-admin-API adapter: members carry their join version from the view,
// partitions come from the table, and migration records map onto the API's states.
import { describe, expect, it } from 'vitest';
import { toAdminSource } from '../../src/cli/admin-source.js';
import type { FlotillaNode } from '../../src/node/index.js';
import type { MigrationRecord } from '../../src/partitions/migration-history.js';

const record = (overrides: Partial<MigrationRecord>): MigrationRecord => ({
  migrationId: 'm1',
  partition: 4,
  source: 'a',
  destination: 'b',
  role: 'owner',
  perspective: 'master',
  state: 'running',
  startedAt: 10,
  ...overrides,
});

function stubNode(): FlotillaNode {
  const member = (nodeId: string, state: 'alive' | 'dead') => ({ nodeId, address: `${nodeId}:1`, state, incarnation: 3, tags: { z: nodeId }, stateChangedAt: 0 });
  return {
    nodeId: 'a',
    members: () => [member('c', 'dead'), member('b', 'alive'), member('a', 'alive')],
    membersView: () => ({
      version: 5,
      members: [
        { nodeId: 'a', address: 'a:1', joinVersion: 1, status: 'active', incarnation: 3, tags: {} },
        { nodeId: 'b', address: 'b:1', joinVersion: 2, status: 'active', incarnation: 3, tags: {} },
      ],
    }),
    master: () => 'a',
    partitionTable: () => ({ version: 9, partitionCount: 2, assignments: [{ partition: 0, owner: 'a', backups: ['b'], epoch: 2 }, { partition: 1, owner: 'b', backups: ['a'], epoch: 1 }] }),
    migrations: () => ({
      inFlight: [record({})],
      recent: [
        record({ migrationId: 'm2', state: 'finished', finishedAt: 20, outcome: 'completed' }),
        record({ migrationId: 'm3', state: 'finished', finishedAt: 30, outcome: 'timed-out' }),
      ],
    }),
  } as unknown as FlotillaNode;
}

describe('toAdminSource', () => {
  it('lists members oldest first with their join versions (null outside the view)', () => {
    expect(toAdminSource(stubNode()).members()).toEqual({
      version: 5,
      master: 'a',
      members: [
        { nodeId: 'a', address: 'a:1', state: 'alive', joinVersion: 1, incarnation: 3, tags: { z: 'a' } },
        { nodeId: 'b', address: 'b:1', state: 'alive', joinVersion: 2, incarnation: 3, tags: { z: 'b' } },
        { nodeId: 'c', address: 'c:1', state: 'dead', joinVersion: null, incarnation: 3, tags: { z: 'c' } },
      ],
    });
  });

  it('reports the partition table', () => {
    expect(toAdminSource(stubNode()).partitions()).toEqual({
      version: 9,
      partitionCount: 2,
      partitions: [
        { partition: 0, owner: 'a', backups: ['b'], epoch: 2 },
        { partition: 1, owner: 'b', backups: ['a'], epoch: 1 },
      ],
    });
  });

  it('maps migration records onto the API, any unsuccessful end being a cancellation with its reason', () => {
    expect(toAdminSource(stubNode()).migrations()).toEqual({
      inFlight: [{ id: 'm1', partition: 4, source: 'a', destination: 'b', role: 'owner', state: 'copying', startedAt: 10 }],
      recent: [
        { id: 'm2', partition: 4, source: 'a', destination: 'b', role: 'owner', state: 'finished', startedAt: 10, finishedAt: 20, outcome: 'completed' },
        { id: 'm3', partition: 4, source: 'a', destination: 'b', role: 'owner', state: 'finished', startedAt: 10, finishedAt: 30, outcome: 'cancelled', reason: 'timed-out' },
      ],
    });
  });
});
