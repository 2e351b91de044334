import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { NodeEntityGate } from '../../src/entities/node-gate.js';
import type { NodeLogger } from '../../src/node/service.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { realTimers } from '../fixtures/timers.js';

const timers = realTimers();

const silent: NodeLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

function rig(owner: (p: number) => string = () => 'me') {
  const table = new ClusterPartitionTable(4);
  table.applyAssignments(Array.from({ length: 4 }, (_, partition) => ({ partition, owner: owner(partition), backups: [] })));
  const storage = new MemoryStorage();
  const gate = new NodeEntityGate({ self: 'me', storage, logger: silent, claimWaitMs: 1_000, timers: () => timers, table: () => table });
  return { table, storage, gate };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (error) {
    return isFlotillaError(error) ? error.code : String(error);
  }
}

describe('NodeEntityGate', () => {
  it('admits owned partitions at the table epoch after claiming them in storage', async () => {
    const { gate, storage } = rig();
    expect(await gate.admit(2)).toBe(1);
    expect((await storage.fences()).find((f) => f.partition === 2)).toEqual({ partition: 2, epoch: 1, owner: 'me' });
  });

  it('refuses partitions it does not own, and sealed ones until unsealed', async () => {
    const { gate } = rig((p) => (p === 0 ? 'other' : 'me'));
    expect(await codeOf(gate.admit(0))).toBe('FLO_NOT_OWNER');
    gate.seal(1);
    expect(await codeOf(gate.admit(1))).toBe('FLO_NOT_OWNER');
    gate.unseal(1);
    expect(await gate.admit(1)).toBe(1);
  });

  it('a refused claim deposes the node for that partition until the table raises the epoch', async () => {
    const { gate, storage, table } = rig();
    await storage.claimPartition(3, 5, 'usurper');
    expect(await codeOf(gate.admit(3))).toBe('FLO_NOT_OWNER');
    expect(await codeOf(gate.admit(3))).toBe('FLO_NOT_OWNER');
    // The table moves the partition away and back: epoch 1 -> 2 -> 3, still below the fence.
    const assign = (owner: string): void => {
      table.applyAssignments(Array.from({ length: 4 }, (_, partition) => ({ partition, owner: partition === 3 ? owner : 'me', backups: [] })));
    };
    assign('usurper');
    assign('me');
    expect(await codeOf(gate.admit(3))).toBe('FLO_NOT_OWNER');
    for (let i = 0; i < 3; i++) {
      assign('usurper');
      assign('me');
    }
    expect(await gate.admit(3)).toBe(table.epoch(3));
  });

  it('a stale write reported by the runtime deposes the partition', async () => {
    const { gate } = rig();
    expect(await gate.admit(1)).toBe(1);
    gate.deposed(1, 1);
    expect(await codeOf(gate.admit(1))).toBe('FLO_NOT_OWNER');
  });
});
