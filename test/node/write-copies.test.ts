// `kv.writeCopiesMin` on real nodes over loopback sockets: a node alone cannot give a write
// a second copy, so it refuses it (retryable, nothing stored; routing gives up at the call's
// deadline and names the refusal) rather than acknowledging a
// write that lives on one node; once a second node joined and every partition lists its
// backup, writes are acknowledged and held by both. The settings that can never be met
// are refused when the node is configured.
import { afterEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { resolveNodeConfig } from '../../src/node/index.js';
import { nodeOptions, waitFor } from './helpers.js';
import { FAST_PARTITIONS, startPartitionNode, stopNodes, tableProblem, type PartitionNode, type ShardingTestOptions } from './partition-harness.js';

const TWO_COPIES: ShardingTestOptions = {
  ...FAST_PARTITIONS,
  routing: { ...FAST_PARTITIONS.routing, opTimeoutMs: 1_500, attemptTimeoutMs: 500 },
  kv: { ...FAST_PARTITIONS.kv, writeCopiesMin: 2 },
};

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('kv.writeCopiesMin on a cluster', () => {
  it('a node alone refuses writes with FLO_TOO_FEW_COPIES; with a backup in place both hold every write', async () => {
    const first = await startPartitionNode('w1', [], TWO_COPIES);
    nodes.push(first);
    await waitFor(() => first.service.table() !== undefined, 'a table', 10_000);
    const map = first.node.getMap<number>('m');
    // Routing retries the refusal until the call's deadline, then names it; nothing may have run.
    const refused = await map.set('k', 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'FLO_TIMEOUT', details: { lastError: 'FLO_TOO_FEW_COPIES' } });
    expect((refused as { details: Record<string, unknown> }).details.outcomeUnknown).toBeUndefined();
    expect(first.service.store.size()).toBe(0);

    nodes.push(await startPartitionNode('w2', [first.node.address], TWO_COPIES));
    await waitFor(() => tableProblem(nodes) === undefined, 'every partition with its backup', 30_000);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) await map.set(key, i);
    for (const key of keys) {
      const p = partitionOf(key, 271);
      for (const n of nodes) expect(n.service.store.get(p, key, 'm'), `${key} on ${n.id}`).toBeDefined();
    }
  }, 60_000);

  it.each([
    ['more copies than one backup allows', { kv: { writeCopiesMin: 3 }, partitions: { backupCount: 1 } }],
    ['two copies with no backups at all', { kv: { writeCopiesMin: 2 }, partitions: { backupCount: 0 } }],
    ['two copies in async backup mode', { kv: { writeCopiesMin: 2, backupMode: 'async' as const }, partitions: {} }],
    ['zero copies', { kv: { writeCopiesMin: 0 }, partitions: {} }],
  ])('refuses %s with FLO_CONFIG_INVALID', (_what, options) => {
    expect(() => resolveNodeConfig(nodeOptions(options))).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });

  it('takes two copies with one backup', () => {
    expect(resolveNodeConfig(nodeOptions({ kv: { writeCopiesMin: 2 }, partitions: {} })).kv.writeCopiesMin).toBe(2);
  });
});
