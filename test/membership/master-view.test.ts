import { describe, expect, it } from 'vitest';
import type { MemberRecord, MembersViewData } from '../../src/core/model.js';
import { ViewBook } from '../../src/membership/master-view.js';

function record(nodeId: string, joinVersion: number): MemberRecord {
  return { nodeId, address: `10.0.0.${nodeId.slice(1)}:7946`, joinVersion, status: 'active', incarnation: 1, tags: {} };
}

function view(version: number, ...members: MemberRecord[]): MembersViewData {
  return { version, members };
}

// The stall seen over a real network: n1, master, stopped; n2..n5 held it dead and n4 took
// over (view 6); n1 came back, was told to rejoin and was admitted by n4 under join
// version 6 (view 7); n1 meanwhile published view 7 of its own, from before the stall.
const beforeStall = view(5, record('n1', 1), record('n2', 2), record('n3', 3), record('n4', 4), record('n5', 5));
const stalePublish = view(7, record('n1', 1), record('n2', 2), record('n3', 3), record('n4', 4), record('n5', 5));
const readmitted = view(7, record('n2', 2), record('n3', 3), record('n4', 4), record('n5', 5), record('n1', 6));

describe('ViewBook.offer', () => {
  it('keeps a higher version from the same lineage, as before', () => {
    const book = new ViewBook();
    expect(book.offer(beforeStall)).toBe(true);
    expect(book.offer(view(6, record('n2', 2), record('n3', 3), record('n4', 4), record('n5', 5)))).toBe(true);
    expect(book.view?.version).toBe(6);
  });

  it('refuses a view that records a member under an older join version than the current view, whatever its version', () => {
    const book = new ViewBook();
    book.offer(readmitted);
    // Equal version: the old rule preferred it (its oldest member, n1 under join version 1, is older).
    expect(book.offer(stalePublish)).toBe(false);
    expect(book.offer(view(9, record('n1', 1), record('n2', 2)))).toBe(false);
    expect(book.view).toBe(readmitted);
    // A later view of the lineage that readmitted n1 is still taken.
    const next = view(8, ...readmitted.members);
    expect(book.offer(next)).toBe(true);
    expect(book.master(() => true)?.nodeId).toBe('n2');
  });

  it('leaves the stalled master on its own view at equal versions: it leaves its lineage by the split-brain merge, as a minority does', () => {
    const book = new ViewBook();
    book.offer(stalePublish);
    expect(book.offer(readmitted)).toBe(false);
    expect(book.master(() => true)?.nodeId).toBe('n1');
    expect(book.offer(view(8, ...readmitted.members))).toBe(true);
  });

  it('still orders two publishers of one version in one lineage by their oldest member', () => {
    const book = new ViewBook();
    const byN3 = view(7, record('n3', 3), record('n4', 4), record('n5', 5));
    const byN2 = view(7, record('n2', 2), record('n3', 3), record('n4', 4), record('n5', 5));
    book.offer(byN3);
    expect(book.offer(byN2)).toBe(true);
    expect(book.offer(byN3)).toBe(false);
  });
});
