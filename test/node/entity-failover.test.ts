import { afterAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { partitionOf } from '../../src/core/partition.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { Counter, FAST_TABLE, holders, idOwnedBy, startEntityCluster, waitForSettledTable } from './entity-harness.js';
import { converged, nodeOptions, stopAll, waitFor } from './helpers.js';
import { startNode } from '../../src/node/index.js';

/** Increments `id` from `node` in a loop until stopped; counts acknowledged increments. */
function writer(node: FlotillaNode, id: string): { acked: () => number; errors: unknown[]; stop: () => Promise<void> } {
  let acked = 0;
  let running = true;
  const errors: unknown[] = [];
  const loop = (async () => {
    while (running) {
      try {
        await node.entity(Counter, id).increment(1);
        acked++;
      } catch (error) {
        errors.push(error);
      }
    }
  })();
  return {
    acked: () => acked,
    errors,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('entities through leave and crash', () => {
  const storage = new MemoryStorage();
  let nodes: FlotillaNode[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('graceful leave moves entities with nothing lost; a crash of the owner fails over with the last value', async () => {
    nodes = await startEntityCluster(4, storage);
    await waitForSettledTable(nodes);
    const [n1, n2, n3, n4] = nodes as [FlotillaNode, FlotillaNode, FlotillaNode, FlotillaNode];

    // Leave: n4 owns `mover`; a writer on n1 keeps incrementing through the move.
    const mover = idOwnedBy(n1, 'Counter', n4.nodeId, 'mover');
    await n1.entity(Counter, mover).increment(10);
    expect(holders(nodes, 'Counter', mover)).toEqual([n4.nodeId]);
    const load = writer(n1, mover);
    await waitFor(() => load.acked() >= 20, 'writes before the leave');
    await n4.leave();
    const rest = [n1, n2, n3];
    await waitFor(() => converged(rest), 'three members after the leave', 20_000);
    await waitForSettledTable(rest);
    const atLeave = load.acked();
    await waitFor(() => load.acked() >= atLeave + 20, 'writes after the leave');
    await load.stop();
    expect(load.errors).toEqual([]);
    expect(await n2.entity(Counter, mover).get()).toBe(10 + load.acked());
    expect(holders(rest, 'Counter', mover)).toHaveLength(1);

    // Crash: n3 owns `victim`; stop() it without a leave.
    const victim = idOwnedBy(n1, 'Counter', n3.nodeId, 'victim');
    for (let i = 0; i < 5; i++) await n2.entity(Counter, victim).increment(1);
    await n3.stop();
    expect(await n1.entity(Counter, victim).increment(1)).toBe(6);
    const holder = holders([n1, n2], 'Counter', victim);
    expect(holder).toHaveLength(1);
    expect(holder[0]).not.toBe(n3.nodeId);
  }, 120_000);
});

describe('entity fencing', () => {
  const started: FlotillaNode[] = [];

  afterAll(async () => {
    await stopAll(started);
  });

  async function single(storage: MemoryStorage, nodeId: string): Promise<FlotillaNode> {
    const node = await startNode(nodeOptions({ nodeId, partitions: FAST_TABLE, entities: [Counter], storage, entity: { callTimeoutMs: 1_500 } }));
    started.push(node);
    await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
    return node;
  }

  it("a deposed owner's write is refused: the call fails and the stored state is untouched", async () => {
    const storage = new MemoryStorage();
    const node = await single(storage, 'solo');
    await node.entity(Counter, 'f').increment(1);
    const partition = partitionOf('Counter/f');
    const fence = (await storage.fences()).find((f) => f.partition === partition)!;
    await storage.claimPartition(partition, fence.epoch + 100, 'intruder');
    const error = await node.entity(Counter, 'f').increment(1).catch((e: unknown) => e);
    expect(isFlotillaError(error, 'FLO_TIMEOUT')).toBe(true);
    expect((await storage.loadEntity('Counter', 'f'))?.version).toBe(1);
    expect(node.activeEntities().filter((e) => e.partition === partition)).toEqual([]);
  }, 30_000);

  it('a whole-cluster restart over the same storage starts its epochs above every stored fence', async () => {
    const storage = new MemoryStorage();
    const first = await single(storage, 'first');
    await first.entity(Counter, 'r').increment(7);
    await first.stop();
    const maxBefore = await storage.maxEpoch();
    const second = await single(storage, 'second');
    expect(await second.entity(Counter, 'r').increment(1)).toBe(8);
    expect(Math.min(...second.partitionTable()!.assignments.map((a) => a.epoch))).toBeGreaterThan(maxBefore);
  }, 30_000);
});
