// Split brain over a real network: five `flotilla start` processes in two network
// namespaces joined by a veth pair are cut 2|3 (link down) until each side is a cluster of
// its own, KV writes with distinct keys and some conflicting keys go to both sides, the
// link comes back, and then: one master, one view and one table on every node, every
// acknowledged write readable from every node, the later write winning each conflict, and
// never two owners of one partition at one epoch. Writes are counted only when
// acknowledged: whether a minority accepts writes is not this test's business.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProblem, EpochLedger, unreadable, waitFor, type AckedWrite } from '../helpers/cluster-checks.js';
import { NetLab, netnsUnavailable, reportSkip } from '../helpers/netns.js';

const unavailable = netnsUnavailable();
reportSkip('split-brain (network namespaces)', unavailable);

const SECRET = 'split-brain-test-secret-0123456789';
const MINORITY = ['n1', 'n2'];
const MAJORITY = ['n3', 'n4', 'n5'];
const ALL = [...MINORITY, ...MAJORITY];
/** Distinct keys written on each side during the split. */
const KEYS_PER_SIDE = 60;
/** Keys written on both sides (the later write must win). */
const CONFLICTS = 10;
/** Longest acceptable time from the heal to one table and every acknowledged write readable everywhere. */
const CONVERGE_BOUND_MS = 20_000;

let lab: NetLab | undefined;

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && lab !== undefined) {
    const dir = join(tmpdir(), `${lab.id}-logs`);
    lab.saveLogs(dir);
    process.stderr.write(`node logs of the failed test: ${dir}\n`);
  }
  await lab?.destroy();
  lab = undefined;
});

/** Starts n1 (the oldest, hence master) in site 0, then the others, and waits for one cluster of five. */
async function startFive(current: NetLab): Promise<void> {
  const seeds = [NetLab.addressOf(0, 0), NetLab.addressOf(1, 0)];
  current.startNode({ name: 'n1', site: 0, seeds, secret: SECRET, logLevel: process.env.NETNS_LOG_LEVEL });
  await waitFor('n1 up', 30_000, async () => ((await current.admin('n1', 'GET', '/cluster/members')).status === 200 ? undefined : 'not yet'));
  current.startNode({ name: 'n2', site: 0, seeds, secret: SECRET, logLevel: process.env.NETNS_LOG_LEVEL });
  for (const name of MAJORITY) current.startNode({ name, site: 1, seeds, secret: SECRET, logLevel: process.env.NETNS_LOG_LEVEL });
  await waitFor('one cluster of five with one table', 60_000, () => clusterProblem(current, ALL));
}

/** PUT `key` = `value` through `via`; the write counts only when acknowledged. */
async function put(current: NetLab, via: string, key: string, value: string, acked: AckedWrite[]): Promise<void> {
  const answer = await current.admin(via, 'PUT', `/kv/${encodeURIComponent(key)}`, value, 3_000).catch(() => undefined);
  if (answer?.status === 200) acked.push({ key, value, ackedAt: Date.now() });
}

/** The value each key must end with: the last acknowledged write of it. */
function expectedValues(acked: readonly AckedWrite[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of [...acked].sort((a, b) => a.ackedAt - b.ackedAt)) out.set(w.key, w.value);
  return out;
}

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
