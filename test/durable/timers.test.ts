// Durable timers on a real node over a real SQLite file and a real PostgreSQL schema: each
// fires once, not before its due time; cancelled ones never fire; they survive a restart
// of the node; many at once with a small in-memory window all fire, and the window never
// holds more than its bound; a burst due at once, raced by cancels, fires each timer once
// or cancels it, never both.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TimerKind } from '../../src/durable/timer-kind.js';
import { startNode, type StartNodeOptions } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { FAST_TABLE } from '../node/entity-harness.js';
import { nodeOptions, waitFor } from '../node/helpers.js';

interface Fire {
  readonly id: string;
  readonly dueAt: number;
  readonly firedAt: number;
  readonly node: string;
}

const fires: Fire[] = [];
/** A kind that records each firing in memory, and once in storage (a second firing commit would conflict). */
function recordingKind(node: string): TimerKind {
  return {
    kind: 'test.record',
    changes: (timer) => Promise.resolve({ records: [{ type: 'timer-fired', id: timer.id, state: new Uint8Array([1]), expectedVersion: 0 }] }),
    fired: (timer, firedAt) => fires.push({ id: timer.id, dueAt: timer.dueAt, firedAt, node }),
  };
}

/** A kind whose firing commit only removes the timer (firings of it apply set-based on PostgreSQL). */
function plainKind(node: string): TimerKind {
  return { kind: 'test.plain', fired: (timer, firedAt) => fires.push({ id: timer.id, dueAt: timer.dueAt, firedAt, node }) };
}


const pgUrl = process.env.FLOTILLA_TEST_POSTGRES_URL;
/** Where a test's data lives: a data directory (SQLite file), or a PostgreSQL schema named after it. */
const STORES: readonly { name: string; skip: boolean; storage: (dataDir: string) => StartNodeOptions['storage'] }[] = [
  { name: 'SQLite', skip: false, storage: () => undefined },
  {
    name: 'PostgreSQL',
    skip: pgUrl === undefined || pgUrl === '',
    storage: (dataDir) => ({ kind: 'postgres', url: pgUrl ?? '', schema: `tm_${process.pid}_${dataDir.replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase()}` }),
  },
];

// Without FLOTILLA_TEST_POSTGRES_URL the PostgreSQL half's cases are listed as skipped.
for (const { name, skip, storage } of STORES) describe.skipIf(skip)(`durable timers on a node (${name})`, () => {
  // Node ids differ per store: the firings of both halves land in one list.
  const tag = name === 'SQLite' ? 's' : 'p';
  const firesOf = (id: string): Fire[] => fires.filter((f) => f.id === id && f.node.startsWith(`${tag}-`));
  const dirs: string[] = [];
  const started: RunningNode[] = [];
  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function start(nodeId: string, dataDir: string, windowMax = 1024): Promise<RunningNode> {
    const node = (await startNode(
      nodeOptions({
        nodeId: `${tag}-${nodeId}`,
        dataDir,
        storage: storage(dataDir),
        forceForm: true,
        partitions: FAST_TABLE,
        timerKinds: [recordingKind(`${tag}-${nodeId}`), plainKind(`${tag}-${nodeId}`)],
        durable: { timerWindowMax: windowMax, timerFireBatchMax: Math.min(windowMax, 256) },
      }),
    )) as RunningNode;
    started.push(node);
    await waitFor(() => (node.partitionTable()?.version ?? 0) > 0, 'a table');
    return node;
  }

  async function dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'flotilla-timers-'));
    dirs.push(d);
    return d;
  }

  it('a timer fires once, not before its due time; a cancelled one never fires', async () => {
    const node = await start('t1', await dir());
    await node.timers!.schedule({ id: 'a', delayMs: 150, kind: 'test.record', payload: { n: 1 } });
    // Due late enough that the cancel surely comes first, even on a loaded machine.
    await node.timers!.schedule({ id: 'b', delayMs: 3_000, kind: 'test.record' });
    expect(await node.timers!.cancel('b')).toBe(true);
    expect(await node.timers!.cancel('b')).toBe(false);
    await waitFor(() => firesOf('a').length === 1, 'timer a to fire');
    const [a] = firesOf('a');
    expect(a!.firedAt).toBeGreaterThanOrEqual(a!.dueAt);
    // One more, due after b in the same partition: once it fired, b had its chance too.
    await node.timers!.schedule({ id: 'c', key: 'b', delayMs: 3_500, kind: 'test.record' });
    await waitFor(() => firesOf('c').length === 1, 'timer c to fire');
    expect(firesOf('b')).toEqual([]);
    expect(firesOf('a')).toHaveLength(1);
    expect(node.durable!.timers.windowSize()).toBe(0);
  }, 30_000);

  it('a pending timer survives a restart of its node and fires once after it', async () => {
    const dataDir = await dir();
    const first = await start('t2a', dataDir);
    await first.timers!.schedule({ id: 'restart-1', delayMs: 1_500, kind: 'test.record' });
    await first.stop();
    expect(firesOf('restart-1')).toEqual([]);
    const second = await start('t2b', dataDir);
    await waitFor(() => firesOf('restart-1').length === 1, 'the timer to fire after the restart');
    expect(firesOf('restart-1')[0]!.node).toBe(`${tag}-t2b`);
    expect(firesOf('restart-1')[0]!.firedAt).toBeGreaterThanOrEqual(firesOf('restart-1')[0]!.dueAt);
    await second.timers!.schedule({ id: 'restart-probe', delayMs: 50, kind: 'test.record' });
    await waitFor(() => firesOf('restart-probe').length === 1, 'a later timer');
    expect(firesOf('restart-1')).toHaveLength(1);
  }, 30_000);

  it('many timers with a small window: all fire once, none early, the window stays within its bound', async () => {
    const node = await start('t3', await dir(), 8);
    const count = 120;
    const ids = Array.from({ length: count }, (_, i) => `many-${i}`);
    // Due times spread over 0.6 s in a scrambled order.
    await Promise.all(ids.map((id, i) => node.timers!.schedule({ id, delayMs: 100 + ((i * 37) % count) * 5, kind: 'test.record' })));
    let windowMaxSeen = 0;
    await waitFor(() => {
      windowMaxSeen = Math.max(windowMaxSeen, node.durable!.timers.windowSize());
      return ids.every((id) => firesOf(id).length >= 1);
    }, 'every timer to fire', 30_000);
    expect(ids.map((id) => firesOf(id).length)).toEqual(ids.map(() => 1));
    expect(windowMaxSeen).toBeLessThanOrEqual(8);
    const order = fires.filter((f) => f.id.startsWith('many-') && f.node.startsWith(`${tag}-`));
    for (const f of order) expect(f.firedAt).toBeGreaterThanOrEqual(f.dueAt);
    expect(node.durable!.timers.stats.loads).toBeGreaterThan(1);
  }, 45_000);

  it('a burst due at once, raced by cancels: each timer fires once or is cancelled, never both', async () => {
    const node = await start('t4', await dir());
    const count = 400;
    const ids = Array.from({ length: count }, (_, i) => `burst-${i}`);
    const dueAt = Date.now() + 1_500;
    // Two kinds: firings that only remove their timer (a set-based run on PostgreSQL) mixed
    // with firings that also write a record (commits of their own) in the same transactions.
    await Promise.all(ids.map((id, i) => node.timers!.schedule({ id, dueAt, kind: i % 2 === 0 ? 'test.plain' : 'test.record' })));
    await waitFor(() => Date.now() >= dueAt - 20, 'the due time to near', 30_000);
    const cancelled = await Promise.all(ids.filter((_, i) => i % 10 === 3 || i % 10 === 4).map(async (id) => ((await node.timers!.cancel(id)) ? id : undefined)));
    const gone = new Set(cancelled.filter((id) => id !== undefined));
    await waitFor(() => ids.every((id) => gone.has(id) || firesOf(id).length >= 1), 'every uncancelled timer to fire', 30_000);
    for (const id of ids) expect(firesOf(id).length + (gone.has(id) ? 1 : 0), id).toBe(1);
    for (const id of ids) for (const f of firesOf(id)) expect(f.firedAt).toBeGreaterThanOrEqual(f.dueAt);
    expect(node.durable!.timers.windowSize()).toBe(0);
  }, 60_000);
});
