/**
 * `frozen-master`: the master's process stops (SIGSTOP) under KV writes and stays stopped
 * until the other members run as a cluster of their own with a settled table; then it
 * continues (SIGCONT) and handles, in one burst, everything that queued up for it. The
 * real-network test of the same name found an acknowledged write lost after such a thaw.
 *
 * `frozen-master-rebalancing`: the same stop, but while the cluster is still placing
 * backups: the master started alone and took writes with no backup to copy them to, the
 * others joined, and it stops a random while into the rebalance. Writes it acknowledged
 * alone exist only on it; the others give its partitions to new, empty owners, and the
 * master must hand that data over when it comes back, not drop it with its old role.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { liveNodes, membershipAgreed, tablesUnsettled, type ShardNode } from '../sharding/shard-simulation.js';
import { FORM_BOUND_MS, ShardStage } from '../sharding/shard-kit.js';

const WARM_UP_MS = 2_000;
/** Longest freeze: the others must have a cluster and a settled table of their own within it. */
const FREEZE_BOUND_MS = 60_000;
/** Writes go on for this long once the others have settled, before the thaw. */
const FROZEN_WRITES_MS: readonly [number, number] = [0, 3_000];
/** How far into the rebalance the master stops, once every joiner is a member. */
const REBALANCE_STOP_MS: readonly [number, number] = [0, 2_000];

export const frozenMasterScenario: Scenario = {
  name: 'frozen-master',
  description: 'KV writes; the master stalls until the others are a settled cluster of their own, then resumes with what queued up: one table at the end, nothing acknowledged lost',
  defaultNodes: 5,
  minNodes: 3,
  run: (params) => frozenMaster(params),
};

async function frozenMaster(params: ScenarioParams): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, params.nodes);
  if (!s.checks.ok) return s.finish({});
  s.workload.start();
  await s.run(WARM_UP_MS);
  const master = s.sim.nodes().find((n) => n.machine.swim.isMaster());
  if (master === undefined) {
    s.checks.check(false, 'no master after the warm-up');
    return s.finish({});
  }
  return freezeAndThaw(s, master);
}

async function frozenMasterRebalancing(params: ScenarioParams): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, 1);
  if (!s.checks.ok) return s.finish({});
  const master = s.sim.nodes()[0]!;
  // A lone node has no one to hold backups: below the replica target by design from here.
  s.fault();
  s.workload.start();
  await s.run(WARM_UP_MS);
  s.sim.addNodes(params.nodes - 1);
  const joinedMs = await s.until(() => liveNodes(s.sim).length === params.nodes && membershipAgreed(liveNodes(s.sim)), FORM_BOUND_MS);
  s.checks.check(joinedMs !== undefined, `the ${params.nodes - 1} joiners did not become members within ${FORM_BOUND_MS} ms`);
  const [lo, hi] = REBALANCE_STOP_MS;
  await s.run(lo + s.random.int(hi - lo + 1));
  // How much of the gap the stop catches: partitions the master owns with no backup yet.
  const table = master.machine.sharding.tableReader();
  let unbacked = 0;
  for (const p of table?.partitionsForNode(master.nodeId).owned ?? []) if (table!.backups(p).length === 0) unbacked++;
  return freezeAndThaw(s, master, { joinedMs, unbackedAtStop: unbacked });
}

/** Stops `master` until the others settle without it, lets writes go on, resumes it, and verifies. */
async function freezeAndThaw(s: ShardStage, master: ShardNode, measured: Record<string, number | undefined> = {}): Promise<ScenarioResult> {
  const others = s.sim.nodes().filter((n) => n !== master);
  s.fault();
  const frozenAt = s.sim.now;
  s.sim.pause(master.nodeId, FREEZE_BOUND_MS);
  const apartMs = await s.until(() => membershipAgreed(others) && tablesUnsettled(others, s.backupCount) === undefined, FREEZE_BOUND_MS - 1);
  s.checks.check(apartMs !== undefined, `the others did not settle as a cluster of their own while the master was stopped: ${s.whyUnsettled()}`);
  const [lo, hi] = FROZEN_WRITES_MS;
  await s.run(lo + s.random.int(hi - lo + 1));
  s.sim.thaw(master.nodeId);
  const frozenMs = s.sim.now - frozenAt;
  const end = await s.settleAndVerify();
  return s.finish({ ...measured, apartMs, frozenMs, ...end });
}

export const frozenMasterRebalancingScenario: Scenario = {
  name: 'frozen-master-rebalancing',
  description: 'a master that took writes alone stalls while the joiners are still being given backups, then resumes: what it acknowledged alone is handed over, nothing acknowledged lost',
  defaultNodes: 5,
  minNodes: 3,
  run: (params) => frozenMasterRebalancing(params),
};
