// Child workflows on real nodes over a real SQLite file and a real PostgreSQL schema (when
// the test PostgreSQL is there): a parent on one node runs a child on another, sleeps
// without memory until the child's end wakes it, gets the child's failure as a typed
// error, reuses a finished child by id, and survives a restart while it waits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_LINK_RECORD_TYPE } from '../../src/durable/child-workflows.js';
import { defineWorkflow } from '../../src/durable/workflow-definition.js';
import type { FlotillaNode, StartNodeOptions } from '../../src/node/index.js';
import { startNode } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { FAST_TABLE, idOwnedBy, waitForSettledTable } from '../node/entity-harness.js';
import { nodeOptions, startCluster, waitFor } from '../node/helpers.js';

/** Side effects that ran, by name: a replayed step must not add to these. */
const ran = new Map<string, number>();
function count(name: string): number {
  const n = (ran.get(name) ?? 0) + 1;
  ran.set(name, n);
  return n;
}
const flags = { childFailsUntil: 0 };

const shipping = defineWorkflow('shipping', async (ctx, input: { order: string; gate: boolean; fail: boolean }) => {
  const label = await ctx.activity('label', () => {
    count(`${ctx.workflowId}:label`);
    if (input.fail && count(`${ctx.workflowId}:attempt`) <= flags.childFailsUntil) throw new Error(`no label for ${input.order}`);
    return `label-${input.order}`;
  }, { attemptsMax: 1 });
  if (input.gate) await ctx.signal('go');
  return ctx.activity('ship', () => {
    count(`${ctx.workflowId}:ship`);
    return `${label}:shipped`;
  });
});

const order = defineWorkflow('order', async (ctx, input: { order: string; childId: string; gate?: boolean; fail?: boolean; catchChild?: boolean }) => {
  await ctx.activity('reserve', () => count(`${ctx.workflowId}:reserve`));
  let shipped: string;
  try {
    shipped = await ctx.child(shipping, input.childId, { order: input.order, gate: input.gate ?? false, fail: input.fail ?? false });
  } catch (error) {
    if (input.catchChild !== true) throw error;
    shipped = `not shipped (${(error as { code?: string }).code})`;
  }
  await ctx.activity('bill', () => count(`${ctx.workflowId}:bill`));
  return `${input.order}: ${shipped}`;
});

const WORKFLOWS = [order, shipping];

const pgUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
/** Where a test's data lives: a SQLite file, or a PostgreSQL schema named after it. */
const STORES: readonly { name: string; skip: boolean; storage: (tag: string, dir: string) => StartNodeOptions['storage'] }[] = [
  { name: 'SQLite', skip: false, storage: (tag, dir) => ({ kind: 'sqlite', path: join(dir, `${tag}.db`) }) },
  {
    name: 'PostgreSQL',
    skip: pgUrl === undefined || pgUrl === '',
    storage: (tag) => ({ kind: 'postgres', url: pgUrl ?? '', schema: `child_${process.pid}_${tag}` }),
  },
];

// Without FLOTILLA_TEST_POSTGRES_URL the PostgreSQL half's cases are listed as skipped.
for (const { name, skip, storage } of STORES) describe.skipIf(skip)(`child workflows (${name})`, () => {
  /** Execution ids differ per store: the side-effect counts are shared. */
  const px = name.slice(0, 2).toLowerCase();
  let dir = '';
  let nodes: FlotillaNode[] = [];
  const extra: FlotillaNode[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-child-'));
    const shared = storage('pair', dir);
    nodes = await startCluster(2, () => ({ partitions: FAST_TABLE, workflows: WORKFLOWS, storage: shared }));
    await waitForSettledTable(nodes);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...nodes, ...extra].map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  /** A parent id owned by the first node and a child id owned by the second. */
  function ids(prefix: string): { parent: string; child: string } {
    const [a, b] = nodes as [RunningNode, RunningNode];
    return { parent: idOwnedBy(a, 'workflow', a.nodeId, `${px}${prefix}-p`), child: idOwnedBy(a, 'workflow', b.nodeId, `${px}${prefix}-c`) };
  }

  it('a parent on one node runs a child on the other, holds no memory while it runs, and each step runs once', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const { parent, child } = ids('x');
    const result = a.workflows!.run(order, parent, { order: 'o1', childId: child, gate: true });
    await waitFor(() => ran.get(`${child}:label`) === 1 && b.durable!.workflows.stats.suspended >= 1, 'the child to wait for its signal');
    expect((await a.workflows!.describe(parent))?.status).toBe('sleeping');
    expect(a.durable!.workflows.activeRuns()).toBe(0);
    expect(b.durable!.workflows.activeRuns()).toBe(0);
    expect(await b.workflows!.signal(child, 'go')).toBe(true);
    expect(await result).toBe('o1: label-o1:shipped');
    // The same parent id answers its stored result; the child is not asked again.
    expect(await b.workflows!.run(order, parent, { order: 'o1', childId: child, gate: true })).toBe('o1: label-o1:shipped');
    expect(['reserve', 'bill'].map((s) => ran.get(`${parent}:${s}`))).toEqual([1, 1]);
    expect(['label', 'ship'].map((s) => ran.get(`${child}:${s}`))).toEqual([1, 1]);
    expect(await a.workflows!.describe(child)).toMatchObject({ name: 'shipping', status: 'completed', stepsCompleted: ['label', 'ship'] });
  }, 60_000);

  it("a child's failure reaches its parent as FLO_CHILD_WORKFLOW_FAILED: caught, the parent goes on; uncaught, retrying the parent retries the child", async () => {
    const [a] = nodes as [RunningNode, RunningNode];
    flags.childFailsUntil = 1;
    const caught = ids('y');
    expect(await a.workflows!.run(order, caught.parent, { order: 'o2', childId: caught.child, fail: true, catchChild: true })).toBe('o2: not shipped (FLO_CHILD_WORKFLOW_FAILED)');
    const failing = ids('z');
    await expect(a.workflows!.run(order, failing.parent, { order: 'o3', childId: failing.child, fail: true })).rejects.toMatchObject({
      code: 'FLO_CHILD_WORKFLOW_FAILED',
      message: `Child workflow failed: ${failing.child}: no label for o3`,
      details: { childWorkflowId: failing.child, childCode: 'FLO_ACTIVITY_FAILED' },
    });
    expect((await a.workflows!.describe(failing.child))?.status).toBe('failed');
    // The second attempt of the child's step succeeds: the retried parent gets it, its first step is not run again.
    expect(await a.workflows!.run(order, failing.parent, { order: 'o3', childId: failing.child, fail: true })).toBe('o3: label-o3:shipped');
    expect([ran.get(`${failing.parent}:reserve`), ran.get(`${failing.child}:label`), ran.get(`${failing.child}:ship`)]).toEqual([1, 2, 1]);
  }, 60_000);

  it('a child id that already completed answers its stored result; one that runs without this parent is refused', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const done = ids('w');
    expect(await b.workflows!.run(shipping, done.child, { order: 'early', gate: false, fail: false })).toBe('label-early:shipped');
    expect(await a.workflows!.run(order, done.parent, { order: 'o4', childId: done.child })).toBe('o4: label-early:shipped');
    expect(ran.get(`${done.child}:label`)).toBe(1);
    const busy = ids('v');
    void b.workflows!.run(shipping, busy.child, { order: 'busy', gate: true, fail: false }).catch(() => undefined);
    await waitFor(() => ran.get(`${busy.child}:label`) === 1, 'the standalone execution to start');
    await expect(a.workflows!.run(order, busy.parent, { order: 'o5', childId: busy.child })).rejects.toMatchObject({ code: 'FLO_CHILD_WORKFLOW_FAILED', details: { childCode: 'FLO_INVALID_ARGUMENT' } });
  }, 60_000);

  it('a parent waiting for its child survives a restart: the new node finishes both, each step once', async () => {
    const tag = 'restart';
    const [rp, rc] = [`${px}-r-parent`, `${px}-r-child`];
    const opts = (nodeId: string): StartNodeOptions => nodeOptions({ nodeId, forceForm: true, partitions: FAST_TABLE, workflows: WORKFLOWS, storage: storage(tag, dir) });
    const first = (await startNode(opts('r1'))) as RunningNode;
    extra.push(first);
    await waitFor(() => (first.partitionTable()?.version ?? 0) > 0, 'a table');
    void first.workflows!.run(order, rp, { order: 'o6', childId: rc, gate: true }).catch(() => undefined);
    await waitFor(() => ran.get(`${rc}:label`) === 1 && first.durable!.workflows.activeRuns() === 0, 'the child to wait');
    await first.stop();
    const second = (await startNode(opts('r2'))) as RunningNode;
    extra.push(second);
    await waitFor(() => (second.partitionTable()?.version ?? 0) > 0, 'a table');
    expect(await second.workflows!.signal(rc, 'go')).toBe(true);
    expect(await second.workflows!.run(order, rp, { order: 'o6', childId: rc, gate: true })).toBe('o6: label-o6:shipped');
    expect([`${rp}:reserve`, `${rp}:bill`, `${rc}:label`, `${rc}:ship`].map((k) => ran.get(k))).toEqual([1, 1, 1, 1]);
  }, 60_000);

  it("retention deletes a finished child with its link to the parent; the parent's id then runs anew with a new link", async () => {
    const [lp, lc] = [`${px}-l-parent`, `${px}-l-child`];
    const node = (await startNode(
      nodeOptions({ nodeId: 'l1', forceForm: true, partitions: FAST_TABLE, workflows: WORKFLOWS, storage: storage('links', dir), durable: { workflowRetentionMs: 1, workflowPurgeIntervalMs: 50 } }),
    )) as RunningNode;
    extra.push(node);
    await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
    const retention = node.durable!.workflows.retention;
    const purgedBefore = retention.stats.purged;
    // The link is read while the child runs: it is there until the child is deleted.
    void node.workflows!.run(order, lp, { order: 'o7', childId: lc, gate: true }).catch(() => undefined);
    await waitFor(() => ran.get(`${lc}:label`) === 1, 'the child to start');
    expect(await node.workflows!.record(CHILD_LINK_RECORD_TYPE, lc)).toMatchObject({ parentId: lp });
    expect(await node.workflows!.signal(lc, 'go')).toBe(true);
    await waitFor(() => retention.stats.purged - purgedBefore >= 2, 'parent and child to be deleted', 30_000);
    expect(await node.workflows!.describe(lp)).toBeUndefined();
    expect(await node.workflows!.describe(lc)).toBeUndefined();
    expect(await node.workflows!.record(CHILD_LINK_RECORD_TYPE, lc)).toBeUndefined();
    // Deleted means forgotten: the parent runs from its first step, its child anew with a new link.
    expect(await node.workflows!.run(order, lp, { order: 'o8', childId: lc })).toBe('o8: label-o8:shipped');
    expect([`${lp}:reserve`, `${lc}:label`].map((k) => ran.get(k))).toEqual([2, 2]);
  }, 60_000);
});
