// Split brain over a real network: five `flotilla start` processes in two network
// namespaces joined by a veth pair are cut 2|3 (link down) until each side is a cluster of
// its own, KV writes with distinct keys and some conflicting keys go to both sides, the
// link comes back, and then: one master, one view and one table on every node, every
// acknowledged write readable from every node, the later write winning each conflict, and
// never two owners of one partition at one epoch. Writes are counted only when
// acknowledged: whether a minority accepts writes is not this test's business.
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProblem, EpochLedger, unreadable, waitFor, type AckedWrite } from '../helpers/cluster-checks.js';
import { ALL, closeLab, expectedValues, put, SITE0, SITE1, startFive } from '../helpers/netns-cluster.js';
import { NetLab, netnsUnavailable, reportSkip } from '../helpers/netns.js';

const unavailable = netnsUnavailable();
reportSkip('split-brain (network namespaces)', unavailable);

const MINORITY = SITE0;
const MAJORITY = SITE1;
/** Distinct keys written on each side during the split. */
const KEYS_PER_SIDE = 60;
/** Keys written on both sides (the later write must win). */
const CONFLICTS = 10;
/** Longest acceptable time from the heal to one table and every acknowledged write readable everywhere. */
const CONVERGE_BOUND_MS = 20_000;

let lab: NetLab | undefined;

afterEach(async (ctx) => {
  await closeLab(lab, ctx.task.result?.state === 'fail');
  lab = undefined;
});

describe.skipIf(unavailable !== undefined)('split brain over network namespaces', () => {
  it('cut 2|3, write on both sides, heal: one table wins, every acknowledged write is readable everywhere', { timeout: 90_000 }, async () => {
    const current = (lab = await NetLab.create());
    await startFive(current);
    const ledger = new EpochLedger();
    await ledger.sample(current, ALL);
    const acked: AckedWrite[] = [];
    await put(current, 'n1', 'before', 'written before the split', acked);

    current.cut();
    await waitFor('each side a cluster of its own', 30_000, async () => (await clusterProblem(current, MINORITY)) ?? (await clusterProblem(current, MAJORITY)));
    await ledger.sample(current, ALL);

    for (let i = 0; i < KEYS_PER_SIDE; i++) {
      await Promise.all([put(current, MINORITY[i % 2]!, `minority-${i}`, `m${i}`, acked), put(current, MAJORITY[i % 3]!, `majority-${i}`, `M${i}`, acked)]);
    }
    // Conflicts: the even keys are written on the minority last, the odd ones on the majority last.
    for (let i = 0; i < CONFLICTS; i++) {
      const [first, second] = i % 2 === 0 ? ['n3', 'n2'] : ['n2', 'n4'];
      await put(current, first, `conflict-${i}`, `${first} first`, acked);
      await put(current, second, `conflict-${i}`, `${second} later`, acked);
    }
    await put(current, 'n5', 'before', 'rewritten on the majority', acked);
    await ledger.sample(current, ALL);
    const minorityAcks = acked.filter((w) => w.key.startsWith('minority-')).length;
    const majorityAcks = acked.filter((w) => w.key.startsWith('majority-')).length;

    const healAt = Date.now();
    current.heal();
    const expected = expectedValues(acked);
    const tableMs = await waitFor('one cluster of five with one table after the heal', CONVERGE_BOUND_MS, async () => {
      await ledger.sample(current, ALL);
      return clusterProblem(current, ALL);
    });
    const readableMs = await waitFor('every acknowledged write readable from every node', CONVERGE_BOUND_MS, () => unreadable(current, ALL, expected), 250);
    process.stderr.write(
      `split-brain netns: acknowledged ${minorityAcks}/${KEYS_PER_SIDE} minority and ${majorityAcks}/${KEYS_PER_SIDE} majority writes; ` +
        `heal to one table ${tableMs} ms, to every write readable everywhere ${Date.now() - healAt} ms (${readableMs} ms after the table)\n`,
    );
    expect(majorityAcks).toBe(KEYS_PER_SIDE);
    expect(ledger.conflicts).toEqual([]);
  });
});
