// A sleep's timer firing reads the execution once: the wake commit's own read is what the
// replay it launches starts from, and the replay still runs the rest exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { defineWorkflow } from '../../src/durable/workflow-definition.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { startNode } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { FAST_TABLE } from '../node/entity-harness.js';
import { nodeOptions, waitFor } from '../node/helpers.js';

const ran: string[] = [];
const napper = defineWorkflow('napper', async (ctx, input: { ms: number }) => {
  await ctx.activity('before', () => ran.push('before'));
  await ctx.sleep('nap', input.ms);
  return ctx.activity('after', () => {
    ran.push('after');
    return 'woke';
  });
});

const dirs: string[] = [];
const started: FlotillaNode[] = [];
const stores: SqliteStorage[] = [];
afterAll(async () => {
  await Promise.all(started.map((n) => n.stop()));
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

it('a woken execution is read once for its firing, not again for its replay', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-wake-reads-'));
  dirs.push(dataDir);
  const sqlite = await SqliteStorage.open({ path: join(dataDir, 'flotilla.sqlite') });
  stores.push(sqlite);
  const reads: string[] = [];
  // Count the reads the node makes of each execution; everything else goes straight through.
  const storage = new Proxy(sqlite, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key === 'loadWorkflow') return (id: string) => (reads.push(id), target.loadWorkflow(id));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const node = (await startNode(nodeOptions({ nodeId: 'wr1', dataDir, forceForm: true, partitions: FAST_TABLE, workflows: [napper], storage }))) as RunningNode;
  started.push(node);
  await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
  const result = node.workflows!.run(napper, 'nap-r', { ms: 300 });
  await waitFor(() => node.durable!.workflows.stats.suspended >= 1, 'the workflow to sleep');
  const beforeWake = reads.filter((id) => id === 'nap-r').length;
  expect(await result).toBe('woke');
  expect(ran).toEqual(['before', 'after']);
  // The firing's read; before this, the replay read the execution a second time.
  expect(reads.filter((id) => id === 'nap-r').length - beforeWake).toBe(1);
}, 30_000);
