// Contract: firings that carry workflow changes (a sleep's timer waking its workflow),
// many in one call as the timer service sends a burst of them. Each commit is fenced and
// decided on its own, each timer fires once, and a refusal takes no other commit down.
import { describe, expect, it } from 'vitest';
import type { DurableCommit } from '../../src/storage/durable.js';
import type { Storage } from '../../src/storage/storage.js';
import type { ContractContext } from './contract-support.js';
import { bytes } from './contract-support.js';

function code(r: { ok: boolean; error?: { code: string } }): string {
  return r.ok ? 'ok' : r.error!.code;
}

const base = { epoch: 1, writer: 'node-a' };

/** Workflow `id` sleeping in `partition` after step 0, its sleep's timer `t-<id>` pending. */
function sleeping(id: string, partition = 1): DurableCommit {
  return {
    ...base,
    partition,
    workflow: { id, name: 'nap', status: 'sleeping', input: bytes(1), output: undefined },
    journal: { workflowId: id, append: [{ seq: 0, name: 'a0', outcome: bytes(0) }] },
    timersSet: [{ id: `t-${id}`, dueAt: 10, kind: 'workflow.sleep', payload: bytes() }],
  };
}

/** The firing of that timer: the workflow runs again with its sleep (step 1) journaled. */
function wake(id: string, parts: Partial<DurableCommit> = {}): DurableCommit {
  return {
    ...base,
    partition: 1,
    workflow: { id, name: 'nap', status: 'running', input: bytes(1), output: undefined },
    journal: { workflowId: id, append: [{ seq: 1, name: 'sleep:nap', outcome: bytes(1) }] },
    timersDelete: [{ id: `t-${id}`, mustExist: true }],
    ...parts,
  };
}

async function state(store: Storage, id: string): Promise<string> {
  const loaded = await store.loadWorkflow(id);
  const timer = await store.loadTimer(`t-${id}`);
  return `${loaded?.workflow.status}:${loaded?.journal.map((e) => e.name).join(',')}:${timer === undefined ? 'fired' : 'pending'}`;
}

/** The wake-up part of the storage contract. */
export function defineWakeTests(ctx: ContractContext): void {
  describe('workflow wake-ups in one call', () => {
    it('each commit is decided alone: a lost fence, a cancelled timer or a taken step refuse only their own', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      const ids = ['w0', 'w1', 'w2', 'w3', 'w4'];
      await store.commitDurable([...ids.map((id) => sleeping(id)), sleeping('w5', 2)]);
      await store.commitDurable([{ ...base, partition: 1, timersDelete: [{ id: 't-w1', mustExist: true }] }]);
      await store.commitDurable([{ ...base, partition: 1, journal: { workflowId: 'w2', append: [{ seq: 1, name: 'signal:go', outcome: bytes(2) }] } }]);
      // Another node took partition 2 over: this node's firing there is behind the fence.
      await store.claimPartition(2, 2, 'node-b');
      const results = await store.commitDurable([
        wake('w0'),
        wake('w1'),
        wake('w2'),
        wake('w3', { workflow: { id: 'w3', name: 'nap', status: 'running', input: bytes(3, 3), output: bytes(9, 8) } }),
        wake('w5', { partition: 2 }),
        wake('w0', { journal: undefined }), // a second firing of w0's timer: it just fired in this call
        wake('w4', { timersDelete: [{ id: 't-w4', mustExist: true }, { id: 'ghost', mustExist: false }] }),
      ]);
      expect(results.map(code)).toEqual(['ok', 'FLO_NOT_FOUND', 'FLO_VERSION_CONFLICT', 'ok', 'FLO_STALE_EPOCH', 'FLO_NOT_FOUND', 'ok']);
      expect(await Promise.all(['w0', 'w1', 'w2', 'w3', 'w4', 'w5'].map((id) => state(store, id)))).toEqual([
        'running:a0,sleep:nap:fired',
        'sleeping:a0:fired',
        'sleeping:a0,signal:go:pending',
        'running:a0,sleep:nap:fired',
        'running:a0,sleep:nap:fired',
        'sleeping:a0:pending',
      ]);
      // Fired again, as a wake-up that finds its step journaled sends it: the timer is gone.
      // Bytes land as sent, a missing output as none, beside one that is there.
      expect(await store.loadWorkflow('w0')).toEqual({
        workflow: { id: 'w0', partition: 1, name: 'nap', status: 'running', input: bytes(1), output: undefined },
        journal: [{ seq: 0, name: 'a0', outcome: bytes(0) }, { seq: 1, name: 'sleep:nap', outcome: bytes(1) }],
      });
      expect((await store.loadWorkflow('w3'))?.workflow).toEqual({ id: 'w3', partition: 1, name: 'nap', status: 'running', input: bytes(3, 3), output: bytes(9, 8) });
      const again = await store.commitDurable(['w0', 'w3', 'w4'].map((id) => wake(id, { journal: undefined })));
      expect(again.map(code), 'a timer fires once').toEqual(['FLO_NOT_FOUND', 'FLO_NOT_FOUND', 'FLO_NOT_FOUND']);
      expect((await store.loadWorkflow('w0'))?.journal).toHaveLength(2);
    });

    it('a burst of 300 wake-ups over two partitions: every pending one wakes once, cancelled ones are refused', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      const ids = Array.from({ length: 300 }, (_, i) => `b${i}`);
      const partitionOf = (i: number): number => 1 + (i % 2);
      await store.commitDurable(ids.map((id, i) => sleeping(id, partitionOf(i))));
      const cancelled = ids.filter((_, i) => i % 7 === 3);
      await store.commitDurable(cancelled.map((id) => ({ ...base, partition: partitionOf(ids.indexOf(id)), timersDelete: [{ id: `t-${id}`, mustExist: true }] })));
      const results = await store.commitDurable(ids.map((id, i) => wake(id, { partition: partitionOf(i) })));
      expect(results.map(code)).toEqual(ids.map((id) => (cancelled.includes(id) ? 'FLO_NOT_FOUND' : 'ok')));
      expect(await store.nextTimers([1, 2], 1_000)).toEqual([]);
      const woken = await store.listWorkflows(1, 'running', 1_000);
      expect(woken.length + (await store.listWorkflows(2, 'running', 1_000)).length).toBe(ids.length - cancelled.length);
      expect((await store.loadWorkflow('b0'))?.journal.map((e) => e.seq)).toEqual([0, 1]);
      expect((await store.loadWorkflow('b3'))?.journal.map((e) => e.seq)).toEqual([0]);
    });
  });
}
