import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { DEFAULT_STORAGE_FILE, resolveNodeConfig, startNode } from '../../src/node/index.js';
import { Counter, FAST_TABLE } from './entity-harness.js';
import { nodeOptions, waitFor } from './helpers.js';

describe('entity storage at node level', () => {
  const dirs: string[] = [];
  const started: FlotillaNode[] = [];

  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('defaults to SQLite under dataDir: state survives a restart of the node', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-entities-'));
    dirs.push(dataDir);
    const start = async (nodeId: string): Promise<FlotillaNode> => {
      const node = await startNode(nodeOptions({ nodeId, dataDir, partitions: FAST_TABLE, entities: [Counter] }));
      started.push(node);
      await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
      return node;
    };
    const first = await start('disk1');
    expect(await first.entity(Counter, 'kept').increment(41)).toBe(41);
    await first.stop();
    expect((await stat(join(dataDir, DEFAULT_STORAGE_FILE))).isFile()).toBe(true);
    const second = await start('disk2');
    expect(await second.entity(Counter, 'kept').increment(1)).toBe(42);
  }, 30_000);

  it('a node without entities has no entity API', async () => {
    const node = await startNode(nodeOptions({ nodeId: 'plain' }));
    started.push(node);
    expect(() => node.entity(Counter, 'x')).toThrow(FlotillaError);
    expect(node.activeEntities()).toEqual([]);
    expect(node.entityCounts()).toEqual([]);
  });

  it.each([
    ['a bad entity setting', { entity: { callDepthMax: 0 } }],
    ['an unknown entity setting', { entity: { nope: 1 } as never }],
    ['entities that are not an array', { entities: {} as never }],
  ])('refuses %s with FLO_CONFIG_INVALID', (_what, options) => {
    expect(() => resolveNodeConfig(nodeOptions(options))).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });

  it('refuses entities without a partition service', async () => {
    await expect(startNode(nodeOptions({ nodeId: 'nop', partitions: false, entities: [Counter] }))).rejects.toMatchObject({ code: 'FLO_CONFIG_INVALID' });
  });
});
