// A Jepsen-style check of the smart client across a network split: five `flotilla start`
// processes in two network namespaces (n1, n2 in one, n3-n5 in the other), clients in
// the test process that reach all five (through each site's relay, which the cut does
// not touch): on one, writers writing increasing counters to their own keys and reading
// each back; on another, readers reading every key; all with a history. The link between
// the sites goes down (3|2), writes go on through the split, the link comes back, the
// cluster becomes one again. Checked: writes kept being acknowledged during the split,
// also to keys the minority owned before it (the client found the majority's map although
// the read-only side kept pushing its own); every acknowledged write is present after the
// merge; no client saw a counter go back.
//
// Readers have a client of their own because a client answers a key it has a write
// pending on from its local copy, and that write may be acknowledged by the minority
// before its quorum verdict (the grace period): until the merge the majority serves the
// older value, and a client that does not know its write's version cannot tell
// (docs/client.md, Limits).
import { afterEach, describe, expect, it } from 'vitest';
import type { FlotillaClient } from '../../src/client-platform/index.js';
import { partitionOf } from '../../src/core/partition.js';
import { clusterProblem, isReadOnly, tableOf, waitFor } from '../helpers/cluster-checks.js';
import { ALL, closeLab, SITE0, SITE1, startFive } from '../helpers/netns-cluster.js';
import { labClient, labGatewayUrl } from '../helpers/netns-client.js';
import { NetLab, netnsUnavailable, reportSkip } from '../helpers/netns.js';
import { clientToken, JWT_SECRET } from './client-cluster.js';
import { backwardReads, History, JEPSEN_MAP, lostWrites, reader, writer } from './jepsen-history.js';

const unavailable = netnsUnavailable();
reportSkip('client Jepsen split (network namespaces)', unavailable);

const MINORITY = SITE0;
const MAJORITY = SITE1;
const WRITERS = 4;
/** Keys per writer whose partition a minority node owns before the split, and keys a majority node owns. */
const MINORITY_KEYS_PER_WRITER = 2;
const MAJORITY_KEYS_PER_WRITER = 1;
const READERS = 2;
/** Acknowledged writes each writer must make while the minority is read-only. */
const SPLIT_ACKS_PER_WRITER = 5;
/** Acknowledged writes before the cut and after the heal, at least. */
const FLOWING_ACKS = 40;

let lab: NetLab | undefined;
let clients: FlotillaClient[] = [];
/** The workload runs while true; a failed test stops it too. */
let running = false;

afterEach(async (ctx) => {
  running = false;
  for (const c of clients) c.close();
  clients = [];
  await closeLab(lab, ctx.task.result?.state === 'fail');
  lab = undefined;
});

/** Per writer, keys owned before the split: MINORITY_KEYS_PER_WRITER by minority nodes, then MAJORITY_KEYS_PER_WRITER by majority ones. */
async function writerKeys(current: NetLab): Promise<string[][]> {
  const table = await tableOf(current, MAJORITY[0]!);
  const ownerOf = (key: string): string => table.partitions.find((p) => p.partition === partitionOf(key, table.partitionCount))!.owner;
  return Array.from({ length: WRITERS }, (_, w) => {
    const pick = (side: readonly string[], count: number): string[] => {
      const keys: string[] = [];
      for (let n = 0; keys.length < count; n++) if (side.includes(ownerOf(`w${w}-k${n}`))) keys.push(`w${w}-k${n}`);
      return keys;
    };
    return [...pick(MINORITY, MINORITY_KEYS_PER_WRITER), ...pick(MAJORITY, MAJORITY_KEYS_PER_WRITER)];
  });
}

/** Minority churns (n2 frozen until n1 holds every partition, then resumed), at most. */
const CHURNS_MAX = 6;

/**
 * Tries to make the read-only side's table the higher-versioned one, as it often is anyway
 * (two nodes take over three nodes' partitions): only then does a client that follows
 * versions alone fail this test. Each churn moves every partition on the minority twice,
 * but the majority's version has been seen to keep pace under load, so a run may end
 * without it: the run then says so, and still checks everything else (the choice itself is
 * tested deterministically in test/client/client-routing.test.ts).
 */
async function raiseMinorityVersion(current: NetLab): Promise<{ churns: number; newer: boolean }> {
  const [lone, other] = MINORITY as [string, string];
  for (let churn = 0; ; churn++) {
    const [minority, majority] = await Promise.all([tableOf(current, lone), tableOf(current, MAJORITY[0]!)]);
    if (minority.version > majority.version) return { churns: churn, newer: true };
    if (churn === CHURNS_MAX) return { churns: churn, newer: false };
    current.freeze(other);
    await waitFor(`${lone} holding every partition of the minority`, 60_000, async () => ((await tableOf(current, lone)).partitions.every((p) => p.owner === lone) ? undefined : 'not yet'));
    current.thaw(other);
    await waitFor('the minority a cluster of two again', 60_000, () => clusterProblem(current, MINORITY));
  }
}

/** Resolves with `promise`, or rejects once `ms` passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(unavailable !== undefined)('Jepsen-style: the smart client across a 3|2 network split', () => {
  it('keeps acknowledging writes through the majority, loses none after the merge, and never reads back in time', { timeout: 300_000 }, async () => {
    const current = (lab = await NetLab.create());
    await startFive(current, { extraArgs: ['--client', '0.0.0.0:0'], env: { FLOTILLA_JWT_SECRET: JWT_SECRET } });
    await waitFor('every gateway listening', 30_000, async () => ALL.find((name) => labGatewayUrl(current, name) === undefined));
    const client = labClient(current, ALL, await clientToken());
    const readClient = labClient(current, ALL, await clientToken());
    clients.push(client, readClient);
    for (const c of clients) {
      await waitFor('the clients connected to all five and routing', 30_000, async () => (c.isRoutingActive() && c.getConnectedNodes().length === ALL.length ? undefined : `${c.getConnectedNodes().length} connected`));
    }

    const keys = await writerKeys(current);
    const minorityKeys = new Set(keys.flatMap((k) => k.slice(0, MINORITY_KEYS_PER_WRITER)));
    const writers = keys.map(() => new History('before'));
    const readers = Array.from({ length: READERS }, () => new History('before'));
    const histories = [...writers, ...readers];
    const setPhase = (phase: string): void => histories.forEach((h) => (h.phase = phase));
    const acks = (phase?: string): number => writers.reduce((n, h) => n + h.count('', phase), 0);
    running = true;
    const allKeys = keys.flat();
    const loops = [
      ...keys.map((own, w) => writer(client, own, writers[w]!, () => running)),
      ...readers.map((h, r) => reader(readClient, [...allKeys.slice(r), ...allKeys.slice(0, r)], h, () => running)),
    ].map((loop) =>
      loop.catch((error: unknown) => {
        // After a failed check the clients are closed under the loops; before that, a loop's failure is the test's.
        if (running) throw error;
      }),
    );
    await waitFor('writes flowing before the cut', 60_000, async () => (acks() >= FLOWING_ACKS ? undefined : `${acks()} acknowledged`));

    setPhase('cut');
    current.cut();
    await waitFor('the minority read-only and the majority a cluster of its own', 60_000, async () => {
      for (const name of MINORITY) if (!(await isReadOnly(current, name))) return `${name} still writable`;
      return clusterProblem(current, MAJORITY);
    });
    setPhase('split');
    const { churns, newer } = await raiseMinorityVersion(current);
    // Every writer has keys the minority owned before the split: the client must have moved them to the majority's owners.
    const before = writers.map((h) => h.count('', 'split'));
    await waitFor('writes acknowledged by the majority during the split, to every writer`s keys', 90_000, async () => {
      const slow = writers.findIndex((h, w) => h.count('', 'split') < before[w]! + SPLIT_ACKS_PER_WRITER);
      return slow < 0 ? undefined : `writer ${slow} has ${writers[slow]!.count('', 'split') - before[slow]!} acknowledged since the churns`;
    });
    const splitStats = client.getClusterStats();
    const readSplitStats = readClient.getClusterStats();
    const [minorityTable, majorityTable] = await Promise.all([tableOf(current, MINORITY[0]!), tableOf(current, MAJORITY[0]!)]);
    const minorityStillReadOnly = await Promise.all(MINORITY.map((name) => isReadOnly(current, name)));
    const splitAcks = acks('split');
    const splitMinorityKeyAcks = writers.reduce((n, h) => n + h.acks.filter((a) => a.phase === 'split' && minorityKeys.has(a.key)).length, 0);

    setPhase('healed');
    const healAt = Date.now();
    current.heal();
    const mergeMs = await waitFor('one cluster of five with one table after the heal', 90_000, () => clusterProblem(current, ALL));
    await waitFor('writes flowing after the heal', 60_000, async () => (acks('healed') >= FLOWING_ACKS ? undefined : `${acks('healed')} acknowledged`));
    running = false;
    await within(Promise.all(loops), 60_000, 'the workload stopping');
    expect(client.pendingWrites()).toBe(0);

    // A client that saw nothing before: its reads show what the cluster holds, not what this client remembers.
    const checker = labClient(current, ALL, await clientToken());
    clients.push(checker);
    const finalOf = (key: string): Promise<number | undefined> => checker.getMap<number>(JEPSEN_MAP).get(key);
    await waitFor('every acknowledged write present after the merge', 60_000, async () => {
      const behind = await lostWrites(writers, finalOf);
      return behind.length === 0 ? undefined : `${behind.length} keys behind; first ${behind[0]}`;
    }).catch(() => undefined);
    const lost = await lostWrites(writers, finalOf);
    const backwards = backwardReads(histories);
    const keptKeys = allKeys.length - lost.length;
    const readCount = histories.reduce((n, h) => n + [...h.reads.values()].reduce((m, r) => m + r.length, 0), 0);
    process.stderr.write(
      `client jepsen split: ${acks()} writes acknowledged (${acks('before')} before the cut, ${acks('cut')} while the split formed, ` +
        `${splitAcks} during the split with the minority read-only, ${splitMinorityKeyAcks} of them to keys the minority owned before); ` +
        `${acks('healed')} after the heal; lost ${lost.length}; kept after merge ${keptKeys}/${allKeys.length} keys at their last acknowledged value; ` +
        `${readCount} reads, ${backwards.length} back in time, ${histories.reduce((n, h) => n + h.readFailures, 0)} failed; ` +
        `client map during the split v${splitStats.mapVersion} writable=${splitStats.mapWritable} (minority table v${minorityTable.version} after ${churns} churns, majority v${majorityTable.version}${newer ? '' : '; the minority\'s table never became the newer one, so this run did not test the writable-over-newer choice'}); heal to one table ${mergeMs} ms (${Date.now() - healAt} ms to the end)\n`,
    );
    expect(lost).toEqual([]);
    expect(backwards).toEqual([]);
    expect(splitMinorityKeyAcks).toBeGreaterThan(0);
    expect([splitStats.mapWritable, readSplitStats.mapWritable]).toEqual([true, true]);
    expect(minorityStillReadOnly).toEqual([true, true]);
    // The clients held the majority's map although the read-only side's was newer.
    if (newer) expect(splitStats.mapVersion).toBeLessThan(minorityTable.version);
  });
});
