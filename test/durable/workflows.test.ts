// Workflows on a real node over a real SQLite file and a real PostgreSQL schema (when the
// test PostgreSQL is there): journaled steps, stored results,
// retry from the failed step, records committed with their step, the determinism guard,
// durable sleeps that leave memory, and recovery by a restarted node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { defineWorkflow } from '../../src/durable/workflow-definition.js';
import type { FlotillaNode, StartNodeOptions } from '../../src/node/index.js';
import { startNode } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { FAST_TABLE } from '../node/entity-harness.js';
import { nodeOptions, waitFor } from '../node/helpers.js';

/** Side effects that ran, by name: a step that replays must not add to these. */
const ran = new Map<string, number>();
function count(name: string): void {
  ran.set(name, (ran.get(name) ?? 0) + 1);
}
const flags = { failAt: -1, blockAt: -1, renamed: false };
let release: (() => void) | undefined;

const threeSteps = defineWorkflow('three-steps', async (ctx, input: { tag: string }) => {
  const out: string[] = [];
  for (const step of ['one', 'two', 'three']) {
    out.push(
      await ctx.activity(step, () => {
        count(`${input.tag}:${step}`);
        return `${step}-done`;
      }),
    );
  }
  return out.join(',');
});

const failing = defineWorkflow('failing', async (ctx, input: { tag: string }) => {
  for (let i = 0; i < 4; i++) {
    await ctx.activity(
      flags.renamed && i === 0 ? 'renamed' : `step-${i}`,
      () => {
        count(`${input.tag}:${i}`);
        if (i === flags.failAt) throw new Error(`step ${i} failed`);
        return i;
      },
      { attemptsMax: 2, backoffInitialMs: 5 },
    );
  }
  return 'finished';
});

const withRecords = defineWorkflow('with-records', async (ctx, input: { log: string }) => {
  for (const action of ['reserve', 'charge']) {
    await ctx.activity(action, async (act) => {
      const log = ((await act.get('audit-log', input.log)) as string[] | undefined) ?? [];
      await act.set('audit-log', input.log, [...log, action]);
    });
  }
  const t = await ctx.now();
  return { at: t, r: ctx.random() };
});

const sleeper = defineWorkflow('sleeper', async (ctx, input: { ms: number; tag: string }) => {
  const before = await ctx.activity('before', () => {
    count(`${input.tag}:before`);
    return Date.now();
  });
  await ctx.sleep('nap', input.ms);
  const after = await ctx.activity('after', () => {
    count(`${input.tag}:after`);
    return Date.now();
  });
  return after - before;
});

const blocking = defineWorkflow('blocking', async (ctx, input: { tag: string }) => {
  for (let i = 0; i < 3; i++) {
    await ctx.activity(`s${i}`, async () => {
      if (i === flags.blockAt) await new Promise<void>((resolve) => (release = resolve));
      count(`${input.tag}:${i}`);
      return i;
    });
  }
  return 'recovered';
});

const approval = defineWorkflow('approval', async (ctx, input: { napMs: number }) => {
  await ctx.activity('submit', () => 'submitted');
  if (input.napMs > 0) await ctx.sleep('cool-off', input.napMs);
  const decision = await ctx.signal<{ ok: boolean; by: string }>('decision');
  return ctx.activity('finish', () => `${decision.ok ? 'approved' : 'rejected'} by ${decision.by}`);
});

/** Sleeps until an absolute instant: many of them make a burst of wake-ups. */
const napUntil = defineWorkflow('nap-until', async (ctx, input: { at: number; tag: string }) => {
  await ctx.activity('before', () => count(`${input.tag}:before`));
  await ctx.sleep('nap', Math.max(0, input.at - (await ctx.now())));
  await ctx.activity('after', () => count(`${input.tag}:after`));
  return input.tag;
});

const WORKFLOWS = [threeSteps, failing, withRecords, sleeper, blocking, approval, napUntil];

const pgUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
/** Where a test's data lives: a data directory (SQLite file), or a PostgreSQL schema named after it. */
const STORES: readonly { name: string; skip: boolean; storage: (dataDir: string) => StartNodeOptions['storage'] }[] = [
  { name: 'SQLite', skip: false, storage: () => undefined },
  {
    name: 'PostgreSQL',
    skip: pgUrl === undefined || pgUrl === '',
    storage: (dataDir) => ({ kind: 'postgres', url: pgUrl ?? '', schema: `wf_${process.pid}_${dataDir.replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase()}` }),
  },
];

// Without FLOTILLA_TEST_POSTGRES_URL the PostgreSQL half's cases are listed as skipped.
for (const { name, skip, storage } of STORES) describe.skipIf(skip)(`workflows on a node (${name})`, () => {
  const dirs: string[] = [];
  const started: FlotillaNode[] = [];
  beforeEach(() => ran.clear());
  afterAll(async () => {
    release?.();
    await Promise.all(started.map((n) => n.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function start(nodeId: string, dataDir: string, durable?: StartNodeOptions['durable']): Promise<RunningNode> {
    const node = (await startNode(nodeOptions({ nodeId, dataDir, forceForm: true, partitions: FAST_TABLE, workflows: WORKFLOWS, storage: storage(dataDir), durable }))) as RunningNode;
    started.push(node);
    await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
    return node;
  }

  async function freshNode(nodeId: string, durable?: StartNodeOptions['durable']): Promise<RunningNode> {
    const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-wf-'));
    dirs.push(dataDir);
    return start(nodeId, dataDir, durable);
  }

  it('retention deletes finished executions with their journals and signals; the same id then runs anew', async () => {
    const node = await freshNode('wf9', { workflowRetentionMs: 1, workflowPurgeIntervalMs: 50 });
    const retention = node.durable!.workflows.retention;
    expect(await node.workflows!.run(threeSteps, 'r-1', { tag: 'r1' })).toBe('one-done,two-done,three-done');
    const approved = node.workflows!.run(approval, 'ap-r', { napMs: 0 });
    expect(await node.workflows!.signal('ap-r', 'decision', { ok: true, by: 'ana' })).toBe(true);
    expect(await approved).toBe('approved by ana');
    await waitFor(() => retention.stats.purged >= 2, 'both finished executions to be deleted', 30_000);
    expect(await node.workflows!.describe('r-1')).toBeUndefined();
    expect(await node.workflows!.describe('ap-r')).toBeUndefined();
    // Deleted means forgotten: the id runs anew, every step again, and its signal can be sent again.
    expect(await node.workflows!.run(threeSteps, 'r-1', { tag: 'r1' })).toBe('one-done,two-done,three-done');
    expect(['one', 'two', 'three'].map((s) => ran.get(`r1:${s}`))).toEqual([2, 2, 2]);
    expect(await node.workflows!.signal('ap-r', 'decision', { ok: false, by: 'bob' })).toBe(true);
  }, 30_000);

  it('runs each step once; the same execution id answers the stored result without running anything', async () => {
    const node = await freshNode('wf1');
    expect(await node.workflows!.run(threeSteps, 'order-1', { tag: 'o1' })).toBe('one-done,two-done,three-done');
    expect(await node.workflows!.run(threeSteps, 'order-1', { tag: 'o1' })).toBe('one-done,two-done,three-done');
    expect(['one', 'two', 'three'].map((s) => ran.get(`o1:${s}`))).toEqual([1, 1, 1]);
    expect(await node.workflows!.describe('order-1')).toMatchObject({ status: 'completed', stepsCompleted: ['one', 'two', 'three'], result: 'one-done,two-done,three-done' });
    expect(await node.workflows!.describe('nobody')).toBeUndefined();
  }, 30_000);

  it('a failed step fails the workflow after its retries; running it again continues from that step', async () => {
    const node = await freshNode('wf2');
    flags.failAt = 2;
    await expect(node.workflows!.run(failing, 'f-1', { tag: 'f1' })).rejects.toMatchObject({ code: 'FLO_ACTIVITY_FAILED', message: 'step 2 failed' });
    expect([0, 1, 2, 3].map((i) => ran.get(`f1:${i}`) ?? 0)).toEqual([1, 1, 2, 0]);
    expect(await node.workflows!.describe('f-1')).toMatchObject({ status: 'failed', stepsCompleted: ['step-0', 'step-1'], error: { code: 'FLO_ACTIVITY_FAILED' } });
    flags.failAt = -1;
    expect(await node.workflows!.run(failing, 'f-1', { tag: 'f1' })).toBe('finished');
    expect([0, 1, 2, 3].map((i) => ran.get(`f1:${i}`) ?? 0)).toEqual([1, 1, 3, 1]);
  }, 30_000);

  it('a replay that asks for other steps than its journal fails with FLO_WORKFLOW_NONDETERMINISM', async () => {
    const node = await freshNode('wf3');
    flags.failAt = 1;
    await expect(node.workflows!.run(failing, 'f-2', { tag: 'f2' })).rejects.toMatchObject({ code: 'FLO_ACTIVITY_FAILED' });
    flags.failAt = -1;
    flags.renamed = true;
    try {
      await expect(node.workflows!.run(failing, 'f-2', { tag: 'f2' })).rejects.toMatchObject({ code: 'FLO_WORKFLOW_NONDETERMINISM' });
      expect(ran.get('f2:0')).toBe(1);
      expect(await node.workflows!.describe('f-2')).toMatchObject({ status: 'failed', error: { code: 'FLO_WORKFLOW_NONDETERMINISM' } });
    } finally {
      flags.renamed = false;
    }
  }, 30_000);

  it("an activity's record change commits with its journal entry; now() and random() replay the same", async () => {
    const node = await freshNode('wf4');
    const first = await node.workflows!.run(withRecords, 'rec-1', { log: 'L1' });
    const again = await node.workflows!.run(withRecords, 'rec-1', { log: 'L1' });
    expect(again).toEqual(first);
    const stored = await node.durable!.workflows.describe('rec-1');
    expect(stored?.stepsCompleted).toEqual(['reserve', 'charge']);
    expect(node.durable!.workflows.stats.stepsRan).toBe(2);
    expect(await node.workflows!.record('audit-log', 'L1')).toEqual(['reserve', 'charge']);
  }, 30_000);

  it('a sleeping workflow holds no run in memory and resumes when its timer fires, not before', async () => {
    const node = await freshNode('wf5');
    const result = node.workflows!.run(sleeper, 'nap-1', { ms: 400, tag: 'n1' });
    await waitFor(() => node.durable!.workflows.stats.suspended >= 1, 'the workflow to sleep');
    expect(node.durable!.workflows.activeRuns()).toBe(0);
    expect((await node.workflows!.describe('nap-1'))?.status).toBe('sleeping');
    expect(await result).toBeGreaterThanOrEqual(400);
    expect([ran.get('n1:before'), ran.get('n1:after')]).toEqual([1, 1]);
  }, 30_000);

  it('300 sleeps due together wake in a burst on a restarted node: each wakes once, each step runs once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-wf-'));
    dirs.push(dataDir);
    const first = await start('wf12', dataDir);
    const at = Date.now() + 2_000;
    const tags = Array.from({ length: 300 }, (_, i) => `burst-${i}`);
    for (const tag of tags) void first.workflows!.run(napUntil, tag, { at, tag }).catch(() => undefined);
    await waitFor(() => tags.every((t) => ran.get(`${t}:before`) === 1) && first.durable!.workflows.activeRuns() === 0, 'every workflow to sleep', 60_000);
    await first.stop();
    // The heir reads every due sleep at once: the wake-ups fire in full batches.
    await waitFor(() => Date.now() > at, 'the sleeps to be due');
    const heir = await start('wf13', dataDir);
    expect(await Promise.all(tags.map((tag) => heir.workflows!.run(napUntil, tag, { at, tag })))).toEqual(tags);
    expect(tags.filter((t) => ran.get(`${t}:before`) !== 1 || ran.get(`${t}:after`) !== 1)).toEqual([]);
    const stored = await heir.workflows!.describe('burst-7');
    expect(stored).toMatchObject({ status: 'completed', stepsCompleted: ['before', 'after'] });
  }, 120_000);

  it('a workflow waits for a signal without memory, takes one sent before its wait, and each name is delivered once', async () => {
    const node = await freshNode('wf7');
    const waiting = node.workflows!.run(approval, 'ap-1', { napMs: 0 });
    // Waiting holds no run in memory. The node's start-up recovery may still list the
    // partition's running executions from before the suspension and load this one once
    // more (it finds it sleeping and lets go), so the check waits for both together.
    await waitFor(() => node.durable!.workflows.stats.suspended >= 1 && node.durable!.workflows.activeRuns() === 0, 'the workflow to wait, with no run in memory');
    expect(await node.workflows!.signal('ap-1', 'decision', { ok: true, by: 'ana' })).toBe(true);
    expect(await waiting).toBe('approved by ana');
    expect(await node.workflows!.signal('ap-1', 'decision', { ok: false, by: 'bob' })).toBe(false);
    expect(await node.workflows!.run(approval, 'ap-1', { napMs: 0 })).toBe('approved by ana');
    expect(await node.workflows!.signal('ap-2', 'decision', { ok: false, by: 'early' })).toBe(true);
    expect(await node.workflows!.run(approval, 'ap-2', { napMs: 0 })).toBe('rejected by early');
  }, 30_000);

  it('a signal that arrives during a durable sleep does not cut the sleep short', async () => {
    const node = await freshNode('wf8');
    const started = Date.now();
    const done = node.workflows!.run(approval, 'ap-3', { napMs: 600 });
    await waitFor(() => node.durable!.workflows.stats.suspended >= 1, 'the workflow to sleep');
    expect(await node.workflows!.signal('ap-3', 'decision', { ok: true, by: 'cy' })).toBe(true);
    expect(await done).toBe('approved by cy');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  }, 30_000);

  it('a restarted node resumes the running workflows of its partitions; completed steps do not run again', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flotilla-wf-'));
    dirs.push(dataDir);
    const first = await start('wf6a', dataDir);
    flags.blockAt = 1;
    const pending = first.workflows!.run(blocking, 'crash-1', { tag: 'c1' }).catch((error: unknown) => error);
    await waitFor(() => release !== undefined && ran.get('c1:0') === 1, 'step 0 done, step 1 blocked');
    await first.stop();
    expect(await pending).toMatchObject({ code: expect.stringMatching(/FLO_NODE_STOPPED|FLO_TIMEOUT|FLO_NOT_OWNER/) });
    flags.blockAt = -1;
    const second = await start('wf6b', dataDir);
    const deadline = Date.now() + 20_000;
    while ((await second.workflows!.describe('crash-1'))?.status !== 'completed') {
      if (Date.now() > deadline) throw new Error('the workflow was not resumed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await second.workflows!.run(blocking, 'crash-1', { tag: 'c1' })).toBe('recovered');
    expect([0, 1, 2].map((i) => ran.get(`c1:${i}`))).toEqual([1, 1, 1]);
    expect(second.durable!.workflows.stats.recovered).toBeGreaterThanOrEqual(1);
  }, 45_000);
});
