import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { partitionOf } from '../../src/core/partition.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { Counter, holders, idOwnedBy, ownerOf, PingA, startEntityCluster, waitForSettledTable } from './entity-harness.js';
import { stopAll } from './helpers.js';

describe('entities on a 3-node cluster', () => {
  const storage = new MemoryStorage();
  let nodes: FlotillaNode[] = [];

  beforeAll(async () => {
    nodes = await startEntityCluster(3, storage);
    await waitForSettledTable(nodes);
  }, 60_000);

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('calls from every node reach the one activation on the owner', async () => {
    for (const node of nodes) await node.entity(Counter, 'one').increment(1);
    const owner = ownerOf(nodes[0]!, 'Counter', 'one');
    expect(holders(nodes, 'Counter', 'one')).toEqual([owner]);
    expect(await nodes[2]!.entity(Counter, 'one').whereAmI()).toBe(owner);
    expect(await nodes[1]!.entity(Counter, 'one').get()).toBe(3);
    const counts = nodes.find((n) => n.nodeId === owner)!.entityCounts();
    expect(counts).toContainEqual({ type: 'Counter', partition: partitionOf('Counter/one'), count: 1 });
  });

  it('serializes concurrent increments from all nodes: the total is exact', async () => {
    const calls = nodes.flatMap((node) => Array.from({ length: 50 }, () => node.entity(Counter, 'hot').increment(1)));
    const results = await Promise.all(calls);
    expect(new Set(results).size).toBe(150);
    expect(await nodes[0]!.entity(Counter, 'hot').get()).toBe(150);
  });

  it('runs A -> B -> A across nodes without deadlock', async () => {
    const a = idOwnedBy(nodes[0]!, 'PingA', nodes[0]!.nodeId, 'a');
    const b = idOwnedBy(nodes[0]!, 'PingB', nodes[1]!.nodeId, 'b');
    expect(await nodes[2]!.entity(PingA, a).start(b)).toBe(2);
    expect(holders(nodes, 'PingB', b)).toEqual([nodes[1]!.nodeId]);
  });

  it("a handler's error reaches the caller on another node as FLO_HANDLER_FAILED with its message", async () => {
    const id = idOwnedBy(nodes[0]!, 'Counter', nodes[1]!.nodeId, 'err');
    const error = await nodes[0]!.entity(Counter, id).fail('no such thing').catch((e: unknown) => e);
    expect(isFlotillaError(error, 'FLO_HANDLER_FAILED')).toBe(true);
    expect((error as Error).message).toContain('no such thing');
  });
});
