// Contract: durable commits (all or nothing behind the fence), journals, workflow
// records and timers, alike in every store.
import { describe, expect, it } from 'vitest';
import type { DurableCommit } from '../../src/storage/durable.js';
import type { ContractContext } from './contract-support.js';
import { bytes, rejectsWith } from './contract-support.js';

/** A commit of partition 1 at epoch 1 by node-a, with the given parts. */
function commit(parts: Partial<DurableCommit>): DurableCommit {
  return { partition: 1, epoch: 1, writer: 'node-a', ...parts };
}

function code(r: { ok: boolean; error?: { code: string } }): string {
  return r.ok ? 'ok' : r.error!.code;
}

const wf = (status: 'running' | 'sleeping' | 'completed' | 'failed', output?: Uint8Array) => ({ id: 'wf-1', name: 'order', status, input: bytes(7), output });

/** The durable-execution part of the storage contract. */
export function defineDurableTests(ctx: ContractContext): void {
  describe('durable commits', () => {
    it('a step commits its record change, journal entry and workflow record together', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const [r] = await store.commitDurable([
        commit({ records: [{ type: 'log', id: 'a', state: bytes(1), expectedVersion: 0 }], workflow: wf('running'), journal: { workflowId: 'wf-1', append: [{ seq: 0, name: 'step-a', outcome: bytes(9) }] } }),
      ]);
      expect(r).toEqual({ ok: true, versions: [1] });
      expect(await store.loadEntity('log', 'a')).toEqual({ type: 'log', id: 'a', partition: 1, state: bytes(1), version: 1 });
      expect(await store.loadWorkflow('wf-1')).toEqual({
        workflow: { id: 'wf-1', partition: 1, name: 'order', status: 'running', input: bytes(7), output: undefined },
        journal: [{ seq: 0, name: 'step-a', outcome: bytes(9) }],
      });
    });

    it('a refused commit changes nothing; the other commits of the call apply', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.commitDurable([commit({ workflow: wf('running'), journal: { workflowId: 'wf-1', append: [{ seq: 0, name: 's0', outcome: bytes(1) }] } })]);
      const results = await store.commitDurable([
        // journal seq 0 is taken: the record write and the timer of this commit must not land
        commit({ records: [{ type: 'log', id: 'x', state: bytes(1), expectedVersion: 0 }], timersSet: [{ id: 't-x', dueAt: 5, kind: 'k', payload: bytes() }], journal: { workflowId: 'wf-1', append: [{ seq: 0, name: 's0', outcome: bytes(2) }] } }),
        commit({ records: [{ type: 'log', id: 'y', state: bytes(1), expectedVersion: 3 }] }),
        commit({ timersDelete: [{ id: 'nobody', mustExist: true }], workflow: wf('completed') }),
        commit({ epoch: 2, records: [{ type: 'log', id: 'z', state: bytes(1), expectedVersion: 0 }] }),
        commit({ partition: 2, records: [{ type: 'log', id: 'z', state: bytes(1), expectedVersion: 0 }] }),
        commit({ journal: { workflowId: 'wf-1', append: [{ seq: 1, name: 's1', outcome: bytes(3) }] } }),
      ]);
      expect(results.map(code)).toEqual(['FLO_VERSION_CONFLICT', 'FLO_VERSION_CONFLICT', 'FLO_NOT_FOUND', 'FLO_STALE_EPOCH', 'FLO_STALE_EPOCH', 'ok']);
      expect(await store.loadEntity('log', 'x')).toBeUndefined();
      expect(await store.loadTimer('t-x')).toBeUndefined();
      const loaded = await store.loadWorkflow('wf-1');
      expect(loaded?.workflow.status).toBe('running');
      expect(loaded?.journal).toEqual([{ seq: 0, name: 's0', outcome: bytes(1) }, { seq: 1, name: 's1', outcome: bytes(3) }]);
    });

    it('a deposed writer cannot journal: the new owner fences it before writing anything', async () => {
      const a = ctx.store();
      await a.claimPartition(1, 1, 'node-a');
      await a.claimPartition(1, 2, 'node-b');
      const [r] = await a.commitDurable([commit({ journal: { workflowId: 'wf-1', append: [{ seq: 0, name: 's', outcome: bytes() }] } })]);
      expect(code(r!)).toBe('FLO_STALE_EPOCH');
      expect(await a.loadWorkflow('wf-1')).toBeUndefined();
    });

    it('truncateFrom forgets the failed tail of a journal before appending', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const append = [0, 1, 2].map((seq) => ({ seq, name: `s${seq}`, outcome: bytes(seq) }));
      await store.commitDurable([commit({ workflow: wf('failed', bytes(0xee)), journal: { workflowId: 'wf-1', append } })]);
      const [r] = await store.commitDurable([commit({ workflow: wf('running'), journal: { workflowId: 'wf-1', truncateFrom: 2, append: [{ seq: 2, name: 's2', outcome: bytes(42) }] } })]);
      expect(code(r!)).toBe('ok');
      expect((await store.loadWorkflow('wf-1'))?.journal.map((e) => [e.seq, e.outcome[0]])).toEqual([[0, 0], [1, 1], [2, 42]]);
    });

    it('lists workflows of a partition by status, ascending by id', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      await store.commitDurable([
        commit({ workflow: { ...wf('running'), id: 'b' } }),
        commit({ workflow: { ...wf('running'), id: 'a' } }),
        commit({ workflow: { ...wf('completed', bytes(1)), id: 'c' } }),
        commit({ partition: 2, workflow: { ...wf('running'), id: 'd' } }),
      ]);
      expect((await store.listWorkflows(1, 'running', 10)).map((w) => w.id)).toEqual(['a', 'b']);
      expect((await store.listWorkflows(1, 'running', 1)).map((w) => w.id)).toEqual(['a']);
      expect(await store.listWorkflows(1, 'completed', 10)).toEqual([{ id: 'c', partition: 1, name: 'order', status: 'completed', input: bytes(7), output: bytes(1) }]);
      expect(await store.listWorkflows(3, 'running', 10)).toEqual([]);
      // Asked for together (as a node gaining partitions does): each answer is its own.
      const together = await Promise.all([
        store.listWorkflows(1, 'running', 10),
        store.listWorkflows(2, 'running', 10),
        store.listWorkflows(1, 'running', 1),
        store.listWorkflows(1, 'completed', 10),
        store.listWorkflows(3, 'running', 10),
        store.listWorkflows(1, 'running', 10),
      ]);
      expect(together.map((ws) => ws.map((w) => w.id))).toEqual([['a', 'b'], ['d'], ['a'], ['c'], [], ['a', 'b']]);
    });
  });

  describe('durable timers', () => {
    it('nextTimers answers the earliest timers of the asked partitions, by due time then id', async () => {
      const store = ctx.store();
      for (const p of [1, 2, 3]) await store.claimPartition(p, 1, 'node-a');
      await store.commitDurable([
        commit({ timersSet: [{ id: 't1', dueAt: 300, kind: 'k', payload: bytes(1) }, { id: 't2', dueAt: 100, kind: 'k', payload: bytes(2) }] }),
        commit({ partition: 2, timersSet: [{ id: 't3', dueAt: 100, kind: 'k', payload: bytes(3) }, { id: 't4', dueAt: 50, kind: 'k', payload: bytes(4) }] }),
        commit({ partition: 3, timersSet: [{ id: 't0', dueAt: 1, kind: 'k', payload: bytes(0) }] }),
      ]);
      expect((await store.nextTimers([1, 2], 10)).map((t) => t.id)).toEqual(['t4', 't2', 't3', 't1']);
      expect((await store.nextTimers([1, 2], 2)).map((t) => t.id)).toEqual(['t4', 't2']);
      expect(await store.nextTimers([3], 5)).toEqual([{ id: 't0', partition: 3, dueAt: 1, kind: 'k', payload: bytes(0) }]);
      expect(await store.nextTimers([], 5)).toEqual([]);
      expect(await store.loadTimer('t2')).toEqual({ id: 't2', partition: 1, dueAt: 100, kind: 'k', payload: bytes(2) });
    });

    it('a timer fires once: a second firing commit finds it gone and changes nothing', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.commitDurable([commit({ timersSet: [{ id: 't', dueAt: 10, kind: 'k', payload: bytes() }] })]);
      const fire = (n: number) => commit({ timersDelete: [{ id: 't', mustExist: true }], records: [{ type: 'fired', id: `t-${n}`, state: bytes(n), expectedVersion: 0 }] });
      const results = await store.commitDurable([fire(1), fire(2)]);
      expect(results.map(code)).toEqual(['ok', 'FLO_NOT_FOUND']);
      expect(await store.loadEntity('fired', 't-2')).toBeUndefined();
      expect((await store.commitDurable([fire(3)])).map(code)).toEqual(['FLO_NOT_FOUND']);
      expect(await store.nextTimers([1], 10)).toEqual([]);
    });

    it('a burst of firing commits in one call: each fires once, refusals stay their own, order holds', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      const timer = (id: string) => ({ id, dueAt: 10, kind: 'k', payload: bytes() });
      await store.commitDurable([commit({ timersSet: ['a', 'b', 'c', 'd'].map(timer) }), commit({ partition: 2, timersSet: [timer('e')] })]);
      const fire = (id: string, partition = 1) => commit({ partition, timersDelete: [{ id, mustExist: true }] });
      const results = await store.commitDurable([
        fire('a'),
        fire('a'), // fired by the commit before: gone
        fire('e'), // lives in partition 2
        commit({ timersDelete: [{ id: 'b', mustExist: true }, { id: 'ghost', mustExist: true }] }), // refused as a whole: b stays
        commit({ epoch: 2, timersDelete: [{ id: 'c', mustExist: true }] }), // behind the fence: c stays
        fire('c'),
        commit({ timersDelete: [{ id: 'ghost', mustExist: false }, { id: 'd', mustExist: true }] }),
        commit({ timersSet: [timer('a')] }), // set again after it fired: a new timer
        fire('e', 2),
      ]);
      expect(results.map(code)).toEqual(['ok', 'FLO_NOT_FOUND', 'FLO_NOT_FOUND', 'FLO_NOT_FOUND', 'FLO_STALE_EPOCH', 'ok', 'ok', 'ok', 'ok']);
      expect((await store.nextTimers([1, 2], 10)).map((t) => t.id)).toEqual(['a', 'b']);
    });

    it('a burst of scheduling commits in one call: later sets win, a timer of another partition refuses its commit', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      const timer = (id: string, dueAt: number) => ({ id, dueAt, kind: 'k', payload: bytes(dueAt) });
      await store.commitDurable([commit({ partition: 2, timersSet: [timer('theirs', 1)] })]);
      const results = await store.commitDurable([
        commit({ timersSet: [timer('x', 5)] }),
        commit({ timersSet: [timer('y', 6), timer('theirs', 7)] }), // refused as a whole: y not set
        commit({ timersSet: [timer('x', 8), timer('z', 9)] }),
        commit({ partition: 2, timersSet: [timer('z', 3)] }), // z was just set in partition 1
        commit({ partition: 2, timersSet: [timer('theirs', 2)] }),
      ]);
      expect(results.map(code)).toEqual(['ok', 'FLO_INVALID_ARGUMENT', 'ok', 'FLO_INVALID_ARGUMENT', 'ok']);
      expect((await store.nextTimers([1, 2], 10)).map((t) => [t.id, t.partition, t.dueAt])).toEqual([['theirs', 2, 2], ['x', 1, 8], ['z', 1, 9]]);
      expect(await store.loadTimer('y')).toBeUndefined();
    });

    it('setting a timer again replaces it; a cancel of a missing timer is fine unless mustExist', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.commitDurable([commit({ timersSet: [{ id: 't', dueAt: 10, kind: 'k', payload: bytes(1) }] })]);
      await store.commitDurable([commit({ timersSet: [{ id: 't', dueAt: 20, kind: 'k', payload: bytes(2) }] })]);
      expect(await store.loadTimer('t')).toEqual({ id: 't', partition: 1, dueAt: 20, kind: 'k', payload: bytes(2) });
      expect((await store.commitDurable([commit({ timersDelete: [{ id: 'ghost', mustExist: false }] })])).map(code)).toEqual(['ok']);
      expect((await store.commitDurable([commit({ timersDelete: [{ id: 't', mustExist: false }] })])).map(code)).toEqual(['ok']);
      expect(await store.loadTimer('t')).toBeUndefined();
    });

    it('a timer is deleted only within its own partition', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      await store.commitDurable([commit({ timersSet: [{ id: 't', dueAt: 10, kind: 'k', payload: bytes() }] })]);
      expect((await store.commitDurable([commit({ partition: 2, timersDelete: [{ id: 't', mustExist: true }] })])).map(code)).toEqual(['FLO_NOT_FOUND']);
      expect((await store.commitDurable([commit({ partition: 2, timersSet: [{ id: 't', dueAt: 1, kind: 'k', payload: bytes() }] })])).map(code)).toEqual(['FLO_INVALID_ARGUMENT']);
      expect((await store.loadTimer('t'))?.partition).toBe(1);
    });

    it('bad arguments are refused with FLO_INVALID_ARGUMENT and write nothing', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await rejectsWith(store.commitDurable([commit({ timersSet: [{ id: '', dueAt: 1, kind: 'k', payload: bytes() }] })]), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.commitDurable([commit({ journal: { workflowId: 'w', append: [{ seq: -1, name: 's', outcome: bytes() }] } })]), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.commitDurable([commit({ workflow: { ...wf('running'), status: 'lost' as 'running' } })]), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.nextTimers([1], -1), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.listWorkflows(1, 'bogus' as 'running', 1), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.loadWorkflow('a\u0000b'), 'FLO_INVALID_ARGUMENT');
      expect(await store.nextTimers([1], 10)).toEqual([]);
    });
  });

  describe('workflow retention', () => {
    /** Waits until the clock moved past now (stores stamp records to the millisecond). */
    const clockMoves = async (): Promise<void> => {
      const from = Date.now();
      while (Date.now() <= from + 2) await new Promise((resolve) => setImmediate(resolve));
    };
    const purge = (parts: { finishedMs: number; limit?: number; epoch?: number; partition?: number }) =>
      ctx.store().purgeWorkflows({ partition: parts.partition ?? 1, epoch: parts.epoch ?? 1, writer: 'node-a', finishedMs: parts.finishedMs, limit: parts.limit ?? 10, recordTypes: ['sig'], idRecordTypes: ['link'] });

    it('deletes finished executions past their retention with journals, owned records and links, in bounded batches', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      const step = (id: string) => ({ workflowId: id, append: [{ seq: 0, name: 's0', outcome: bytes(1) }] });
      const signal = (id: string) => ({ type: 'sig', id, state: bytes(1), expectedVersion: 0 });
      const link = (id: string, type = 'link') => ({ type, id, state: bytes(2), expectedVersion: 0 });
      await store.commitDurable([
        commit({ workflow: { ...wf('completed', bytes(1)), id: 'a' }, journal: step('a'), records: [signal('a/go'), signal('a/stop'), signal('ab/x'), signal('a0'), link('a')] }),
        commit({ workflow: { ...wf('failed', bytes(2)), id: 'b' }, journal: step('b'), records: [link('b'), link('b/x'), link('bb'), link('b', 'other')] }),
        commit({ workflow: { ...wf('running'), id: 'c' }, journal: step('c'), records: [signal('c/go'), { type: 'other', id: 'a/go', state: bytes(1), expectedVersion: 0 }, link('c')] }),
        commit({ workflow: { ...wf('sleeping'), id: 'd' } }),
        commit({ partition: 2, workflow: { ...wf('completed', bytes(1)), id: 'e' } }),
      ]);
      expect(await purge({ finishedMs: 3_600_000 })).toEqual([]);
      expect(await store.partitionsWithExpiredWorkflows([1, 2, 3], 3_600_000)).toEqual([]);
      await clockMoves();
      expect(await store.partitionsWithExpiredWorkflows([3, 2, 1], 0)).toEqual([1, 2]);
      expect(await store.partitionsWithExpiredWorkflows([], 0)).toEqual([]);
      const first = await purge({ finishedMs: 0, limit: 1 });
      expect(first).toHaveLength(1);
      const second = await purge({ finishedMs: 0, limit: 10 });
      expect([...first, ...second].sort()).toEqual(['a', 'b']);
      expect(await purge({ finishedMs: 0 })).toEqual([]);
      expect(await store.partitionsWithExpiredWorkflows([1, 2], 0)).toEqual([2]);
      expect(await store.loadWorkflow('a')).toBeUndefined();
      expect(await store.loadWorkflow('b')).toBeUndefined();
      expect((await store.loadWorkflow('c'))?.journal).toHaveLength(1);
      expect((await store.loadWorkflow('d'))?.workflow.status).toBe('sleeping');
      expect((await store.loadWorkflow('e'))?.workflow.status).toBe('completed');
      expect(await store.loadEntity('sig', 'a/go')).toBeUndefined();
      expect(await store.loadEntity('sig', 'a/stop')).toBeUndefined();
      expect(await store.loadEntity('link', 'a')).toBeUndefined();
      expect(await store.loadEntity('link', 'b')).toBeUndefined();
      const kept = [['sig', 'ab/x'], ['sig', 'a0'], ['sig', 'c/go'], ['other', 'a/go'], ['link', 'c'], ['link', 'b/x'], ['link', 'bb'], ['other', 'b']];
      for (const [type, id] of kept) expect(await store.loadEntity(type!, id!), `${type} ${id}`).toBeDefined();
      // The id is free again: a new execution starts with an empty journal.
      const [again] = await store.commitDurable([commit({ workflow: { ...wf('running'), id: 'a' }, journal: step('a'), records: [signal('a/go')] })]);
      expect(code(again!)).toBe('ok');
    });

    it('is refused behind the fence and for bad arguments', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 2, 'node-b');
      await store.commitDurable([commit({ epoch: 2, writer: 'node-b', workflow: wf('completed', bytes(1)) })]);
      await clockMoves();
      await rejectsWith(purge({ finishedMs: 0, epoch: 1 }), 'FLO_STALE_EPOCH');
      // Nothing to delete: answered without a transaction, so without the fence.
      expect(await purge({ finishedMs: 0, partition: 3 })).toEqual([]);
      await rejectsWith(purge({ finishedMs: -1 }), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(purge({ finishedMs: 0, limit: 100_000 }), 'FLO_INVALID_ARGUMENT');
      const base = { partition: 1, epoch: 2, writer: 'node-b', finishedMs: 0, limit: 10, recordTypes: [] };
      await rejectsWith(store.purgeWorkflows({ ...base, idRecordTypes: 'link' as unknown as string[] }), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.purgeWorkflows({ ...base, idRecordTypes: [''] }), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.partitionsWithExpiredWorkflows([1], -5), 'FLO_INVALID_ARGUMENT');
      await rejectsWith(store.partitionsWithExpiredWorkflows([-1], 0), 'FLO_INVALID_ARGUMENT');
      expect((await store.loadWorkflow('wf-1'))?.workflow.status).toBe('completed');
    });
  });
}
