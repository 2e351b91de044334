/**
 * `frozen-master`: the master's process stops (SIGSTOP) under KV writes and stays stopped
 * until the other members run as a cluster of their own with a settled table; then it
 * continues (SIGCONT) and handles, in one burst, everything that queued up for it. The
 * real-network test of the same name found an acknowledged write lost after such a thaw.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { ShardStage } from '../sharding/shard-kit.js';
import { membershipAgreed, tablesUnsettled } from '../sharding/shard-simulation.js';

const WARM_UP_MS = 2_000;
/** Longest freeze: the others must have a cluster and a settled table of their own within it. */
const FREEZE_BOUND_MS = 60_000;
/** Writes go on for this long once the others have settled, before the thaw. */
const FROZEN_WRITES_MS: readonly [number, number] = [0, 3_000];

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
  return s.finish({ apartMs, frozenMs, ...end });
}
