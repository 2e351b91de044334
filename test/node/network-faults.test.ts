// Faults a real network has and an in-process cut does not, on five `flotilla start`
// processes in two network namespaces: a one-way partition (blackhole routes: site 0's
// packets to site 1 are dropped, site 1's still arrive, so UDP gets through one way and no
// TCP connection forms either way), and a frozen node (SIGSTOP: its sockets stay open and
// its peers' TCP connections to it half-open, then SIGCONT with its old view and table).
// After each: every acknowledged write readable from every node, one table on every node,
// and never two owners of one partition at one epoch.
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProblem, EpochLedger, unreadable, waitFor, type AckedWrite } from '../helpers/cluster-checks.js';
import { ALL, closeLab, expectedValues, put, SITE1, startFive } from '../helpers/netns-cluster.js';
import { NetLab, netnsUnavailable, reportSkip } from '../helpers/netns.js';

const unavailable = netnsUnavailable();
reportSkip('network faults (network namespaces)', unavailable);

/** Longest acceptable time from the repair to one table and every acknowledged write readable everywhere. */
const CONVERGE_BOUND_MS = 25_000;
/** Keys written through each node during a fault. */
const KEYS_PER_NODE = 15;

let lab: NetLab | undefined;

afterEach(async (ctx) => {
  await closeLab(lab, ctx.task.result?.state === 'fail');
  lab = undefined;
});

/** Writes `KEYS_PER_NODE` distinct keys through each of `via` (tagged `tag`), counting acknowledged ones. */
async function writeThrough(current: NetLab, via: readonly string[], tag: string, acked: AckedWrite[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < KEYS_PER_NODE; i++) {
    const results = await Promise.all(via.map((name) => put(current, name, `${tag}-${name}-${i}`, `${tag} ${name} ${i}`, acked)));
    count += results.filter(Boolean).length;
  }
  return count;
}

/** Waits for one table on all five and every acknowledged write readable everywhere; returns the times. */
async function converge(current: NetLab, ledger: EpochLedger, acked: readonly AckedWrite[]): Promise<{ tableMs: number; readableMs: number }> {
  const start = Date.now();
  const tableMs = await waitFor('one cluster of five with one table', CONVERGE_BOUND_MS, async () => {
    await ledger.sample(current, ALL);
    return clusterProblem(current, ALL);
  });
  await waitFor('every acknowledged write readable from every node', CONVERGE_BOUND_MS, () => unreadable(current, ALL, expectedValues(acked)), 250);
  return { tableMs, readableMs: Date.now() - start };
}

describe.skipIf(unavailable !== undefined)('network faults over network namespaces', () => {
  it('one-way partition: site 0 cannot reach site 1, site 1 still reaches site 0; then repaired', { timeout: 90_000 }, async () => {
    const current = (lab = await NetLab.create());
    await startFive(current);
    const ledger = new EpochLedger();
    await ledger.sample(current, ALL);
    const acked: AckedWrite[] = [];

    current.blockOneWay(0, 1);
    // Site 1 hears nothing back from site 0: it must go on as a cluster of three.
    await waitFor('site 1 a cluster of its own', 30_000, async () => {
      await ledger.sample(current, ALL);
      return clusterProblem(current, SITE1);
    });
    const writes = await writeThrough(current, ALL, 'one-way', acked);
    await ledger.sample(current, ALL);

    current.heal();
    const { tableMs, readableMs } = await converge(current, ledger, acked);
    process.stderr.write(`one-way netns: ${writes} of ${KEYS_PER_NODE * ALL.length} writes acknowledged; repair to one table ${tableMs} ms, to every write readable ${readableMs} ms\n`);
    expect(acked.filter((w) => SITE1.some((n) => w.key.startsWith(`one-way-${n}-`)))).toHaveLength(KEYS_PER_NODE * SITE1.length);
    expect(ledger.conflicts).toEqual([]);
  });

  it('a frozen master (SIGSTOP, half-open connections) is replaced, then comes back (SIGCONT) without serving its old table', { timeout: 90_000 }, async () => {
    const current = (lab = await NetLab.create());
    await startFive(current);
    const ledger = new EpochLedger();
    await ledger.sample(current, ALL);
    const acked: AckedWrite[] = [];
    await writeThrough(current, ALL, 'before', acked);

    current.freeze('n1');
    const others = ALL.filter((n) => n !== 'n1');
    await waitFor('the other four a cluster of their own', 30_000, async () => {
      await ledger.sample(current, others);
      return clusterProblem(current, others);
    });
    await writeThrough(current, others, 'frozen', acked);

    const thawedAt = Date.now();
    current.thaw('n1');
    // At once, through every node: the thawed one must route by the current table or refuse.
    await writeThrough(current, ALL, 'thawed', acked);
    const { tableMs, readableMs } = await converge(current, ledger, acked);
    process.stderr.write(`sigstop netns: ${acked.length} writes acknowledged; thaw to one table ${tableMs} ms, to every write readable ${Date.now() - thawedAt} ms (${readableMs} ms after the writes)\n`);
    expect(acked.filter((w) => w.key.startsWith('frozen-'))).toHaveLength(KEYS_PER_NODE * others.length);
    expect(ledger.conflicts).toEqual([]);
  });
});
