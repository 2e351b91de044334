/**
 * `partition-3-2`: split a cluster into a majority and a minority (3 and 2 for 5 nodes).
 * The majority declares the minority dead and stays writable; the minority turns
 * read-only, but only after the quorum grace period; after the heal the nodes form one
 * cluster again, with one master, and nobody is read-only.
 */
import { DEFAULT_SWIM_CONFIG } from '../../src/membership/config.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, since, stage } from '../swim/scenario-kit.js';
import { agreedMaster, converged, ids } from '../swim/swim-simulation.js';

/** How long the split lasts: a minute for detection, then the quorum grace period. */
const splitMs = 60_000 + DEFAULT_SWIM_CONFIG.quorumGraceMs;
/** Longest acceptable time from the heal until one cluster with one master. */
const mergeBoundMs = 120_000;

const graceMs = DEFAULT_SWIM_CONFIG.quorumGraceMs;

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  measureTraffic(s, params.nodes, 10_000);

  const majoritySize = Math.floor(params.nodes / 2) + 1;
  const majority = sim.nodes().slice(0, majoritySize);
  const minority = sim.nodes().slice(majoritySize);
  const cutAt = sim.now;
  sim.partition(ids(majority), ids(minority));
  const seesMinorityDead = (): boolean => majority.every((n) => minority.every((m) => n.machine.member(m.nodeId)?.state === 'dead'));
  const majorityDeadMs = sim.waitFor(seesMinorityDead, splitMs);
  sim.runUntil(cutAt + splitMs);

  // When the last minority node announced itself partitioned (read-only from then on).
  const readOnlyAt = minority.map((n) => rec.partitionedAt(n.nodeId, cutAt)[0]?.at);
  const minorityReadOnlyMs = readOnlyAt.every((at) => at !== undefined) ? Math.max(...(readOnlyAt as number[])) - cutAt : undefined;
  checks.check(majorityDeadMs !== undefined, `the majority did not declare the minority dead within ${splitMs} ms`);
  checks.check(minorityReadOnlyMs !== undefined, `the minority was not read-only ${splitMs} ms into the split`);
  checks.check(
    minorityReadOnlyMs === undefined || majorityDeadMs === undefined || minorityReadOnlyMs < majorityDeadMs,
    `the minority was read-only ${minorityReadOnlyMs} ms after the cut, not before the majority held it dead (${majorityDeadMs} ms)`,
  );
  const early = minority.flatMap((n) => rec.partitionedAt(n.nodeId, cutAt)).filter((q) => q.at - cutAt < graceMs);
  checks.check(early.length === 0, `minority turned read-only before the ${graceMs} ms grace period: ${early.map((q) => `${q.by} at +${q.at - cutAt}`).join(', ')}`);
  const majorityReadOnly = majority.flatMap((n) => rec.partitionedAt(n.nodeId, cutAt));
  checks.check(majorityReadOnly.length === 0, `majority nodes turned read-only: ${majorityReadOnly.map((q) => q.by).join(', ')}`);
  const majorityDeaths = rec.failed.filter((f) => f.at >= cutAt && majority.some((n) => n.nodeId === f.node) && majority.some((n) => n.nodeId === f.by));
  checks.check(majorityDeaths.length === 0, 'a majority node declared another majority node dead');

  const healAt = sim.now;
  sim.heal();
  const all = sim.nodes();
  const mergedMs = sim.waitFor(() => converged(all) && agreedMaster(all) !== undefined, mergeBoundMs);
  const writableMs = sim.waitFor(() => all.every((n) => !n.machine.isReadOnly(sim.now)), 30_000);
  checks.check(mergedMs !== undefined, `no single cluster with one master ${mergeBoundMs} ms after the heal`);
  checks.check(writableMs !== undefined, 'some node stayed read-only after the merge');

  return finish(s, {
    majorityDeadMs,
    minorityReadOnlyMs,
    mergedMs: since(mergedMs === undefined ? undefined : healAt + mergedMs, healAt),
  });
}

/** The `partition-3-2` scenario. */
export const partition32Scenario: Scenario = {
  name: 'partition-3-2',
  description: 'split 3|2: majority declares the minority dead and stays writable, minority turns read-only after the grace period, heal merges',
  defaultNodes: 5,
  minNodes: 3,
  run,
};
