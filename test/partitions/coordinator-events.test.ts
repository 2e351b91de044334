// How a table change becomes a node's TableChanged event: what changed, what it gained,
// what it lost.
import { describe, expect, it } from 'vitest';
import type { PartitionAssignment, PartitionTableData } from '../../src/core/model.js';
import { diffTables, NO_OWNER, type LocalRole } from '../../src/partitions/index.js';

function table(version: number, entries: [string, string[], number][]): PartitionTableData {
  const assignments: PartitionAssignment[] = entries.map(([owner, backups, epoch], partition) => ({ partition, owner, backups, epoch }));
  return { version, partitionCount: entries.length, assignments };
}

type Case = [string, [string, string[], number], [string, string[], number], 'gained' | 'lost' | 'both' | 'neither', LocalRole, LocalRole];

const cases: Case[] = [
  ['becomes owner from nothing', ['x', [], 1], ['me', [], 2], 'gained', 'none', 'owner'],
  ['becomes a backup', ['x', [], 1], ['x', ['me'], 1], 'gained', 'none', 'backup'],
  ['is promoted', ['x', ['me'], 1], ['me', [], 2], 'gained', 'backup', 'owner'],
  ['is demoted', ['me', ['x'], 1], ['x', ['me'], 2], 'lost', 'owner', 'backup'],
  ['loses ownership', ['me', [], 1], ['x', [], 2], 'lost', 'owner', 'none'],
  ['loses a backup', ['x', ['me'], 1], ['x', [], 1], 'lost', 'backup', 'none'],
  ['shifts backup index', ['x', ['y', 'me'], 1], ['x', ['me', 'y'], 1], 'neither', 'backup', 'backup'],
  ['owns again under a new epoch', ['me', [], 1], ['me', [], 3], 'both', 'owner', 'owner'],
  ['sees another partition move', ['x', [], 1], ['y', [], 2], 'neither', 'none', 'none'],
  ['loses to no owner', ['me', [], 1], [NO_OWNER, [], 2], 'lost', 'owner', 'none'],
];

describe('diffTables', () => {
  it.each(cases)('a node that %s', (_name, before, after, expected, was, is) => {
    const event = diffTables(table(4, [before, ['z', [], 1]]), table(5, [after, ['z', [], 1]]), 'me');
    expect(event).toMatchObject({ type: 'TableChanged', version: 5, previousVersion: 4, changedPartitions: [0] });
    const change = { partition: 0, before: was, after: is, epoch: after[2] };
    expect(event.localGained).toEqual(expected === 'gained' || expected === 'both' ? [change] : []);
    expect(event.localLost).toEqual(expected === 'lost' || expected === 'both' ? [change] : []);
  });

  it('reports nothing for an identical table', () => {
    const t = table(1, [['me', ['x'], 1]]);
    expect(diffTables(t, { ...t, version: 2 }, 'me')).toMatchObject({ changedPartitions: [], localGained: [], localLost: [] });
  });
});
