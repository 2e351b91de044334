import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/core/group-commit.js';

/** A group commit whose transactions resolve when the test says so. */
function harness(batchMax: number) {
  const sent: number[][] = [];
  const release: Array<(results: string[] | Error) => void> = [];
  const deferred: Array<() => void> = [];
  const gc = new GroupCommit<number, string>(
    (items) => {
      sent.push(items);
      return new Promise((resolve, reject) => release.push((r) => (r instanceof Error ? reject(r) : resolve(r))));
    },
    batchMax,
    (fn) => deferred.push(fn),
  );
  return { gc, sent, release, runDeferred: () => deferred.splice(0).forEach((fn) => fn()) };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('items of one turn share a transaction; items arriving while it is in flight share the next, at most batchMax each', async () => {
    const h = harness(2);
    const first = [h.gc.submit(1), h.gc.submit(2)];
    expect(h.sent).toEqual([]);
    h.runDeferred();
    expect(h.sent).toEqual([[1, 2]]);
    const later = [h.gc.submit(3), h.gc.submit(4), h.gc.submit(5)];
    expect(h.gc.pending()).toBe(3);
    h.release[0]!(['a', 'b']);
    expect(await Promise.all(first)).toEqual(['a', 'b']);
    await settle();
    expect(h.sent).toEqual([[1, 2], [3, 4]]);
    h.release[1]!(['c', 'd']);
    await settle();
    expect(h.sent).toEqual([[1, 2], [3, 4], [5]]);
    h.release[2]!(['e']);
    expect(await Promise.all(later)).toEqual(['c', 'd', 'e']);
    expect(h.gc.stats).toEqual({ batches: 3, items: 5, largestBatch: 2 });
  });

  it('a failed transaction rejects each of its items and the queue goes on', async () => {
    const h = harness(10);
    const failing = [h.gc.submit(1), h.gc.submit(2)];
    h.runDeferred();
    const next = h.gc.submit(3);
    h.release[0]!(new Error('disk full'));
    for (const p of failing) await expect(p).rejects.toThrow('disk full');
    await settle();
    h.release[1]!(['ok']);
    expect(await next).toBe('ok');
  });

  it('a store that answers fewer results than items fails the unanswered ones with FLO_STORAGE', async () => {
    const h = harness(10);
    const both = [h.gc.submit(1), h.gc.submit(2)];
    h.runDeferred();
    h.release[0]!(['only one']);
    expect(await both[0]).toBe('only one');
    await expect(both[1]).rejects.toMatchObject({ code: 'FLO_STORAGE' });
  });
});
