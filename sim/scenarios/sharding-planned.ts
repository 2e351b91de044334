/**
 * Sharding scenarios with planned moves only, under a steady stream of KV writes:
 * `join-under-writes` (a node joins and partitions migrate to it) and
 * `leave-under-writes` (a node drains its partitions to the others and leaves
 * gracefully). Besides the invariants every sharding scenario holds, a planned move must
 * keep every partition at its replica target throughout, and no client write may fail:
 * the routing client retries whatever the move causes.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { ShardStage, SETTLE_BOUND_MS, type StageOptions } from '../sharding/shard-kit.js';
import { liveNodes } from '../sharding/shard-simulation.js';

/** Writes before the move starts, ms of virtual time. */
const WARM_UP_MS = 2_000;
/** Writes after the move settled, ms of virtual time. */
const COOL_DOWN_MS = 2_000;
/** How long a leaving node may drain (the node's `lifecycle.drainTimeoutMs` default). */
const DRAIN_TIMEOUT_MS = 10_000;
/** Longest wait for the membership leave to complete after the drain, ms (the node's `lifecycle.leaveTimeoutMs`). */
const LEAVE_TIMEOUT_MS = 10_000;

/** A node joins a cluster taking writes. */
export async function joinUnderWrites(params: ScenarioParams, options: StageOptions = {}): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, params.nodes - 1, options);
  if (!s.checks.ok) return s.finish({});
  s.workload.start();
  await s.run(WARM_UP_MS);
  const joiner = s.sim.addNode();
  const joinedMs = await s.until(() => liveNodes(s.sim).length === params.nodes && s.settled(), SETTLE_BOUND_MS);
  s.checks.check(joinedMs !== undefined, `${joiner.nodeId} did not join and take its partitions within ${SETTLE_BOUND_MS} ms: ${s.whyUnsettled()}`);
  const owned = joiner.machine.sharding.tableReader()?.partitionsForNode(joiner.nodeId).owned.length ?? 0;
  s.checks.check(owned > 0, `${joiner.nodeId} owns no partition after joining`);
  await s.run(COOL_DOWN_MS);
  const end = await s.settleAndVerify();
  s.checks.check(s.workload.failedCount === 0, `${s.workload.failedCount} client writes failed during a planned join`);
  return s.finish({ joinedMs, joinerOwns: owned, ...end });
}

/** A random node drains and leaves a cluster taking writes. */
export async function leaveUnderWrites(params: ScenarioParams, options: StageOptions = {}): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, params.nodes, options);
  if (!s.checks.ok) return s.finish({});
  s.workload.start();
  await s.run(WARM_UP_MS);
  const leaver = s.pick(s.sim.nodes());
  const wasMaster = leaver.machine.swim.isMaster();
  const startedAt = s.sim.now;
  let drainedAt: number | undefined;
  let heldAtLeave = -1;
  void leaver.machine.leave(s.sim.now + DRAIN_TIMEOUT_MS).then(() => {
    drainedAt = s.sim.now;
    const held = leaver.machine.sharding.tableReader()?.partitionsForNode(leaver.nodeId);
    heldAtLeave = held === undefined ? 0 : held.owned.length + held.backups.length;
  });
  const leftMs = await s.until(() => leaver.machine.hasLeft(), DRAIN_TIMEOUT_MS + LEAVE_TIMEOUT_MS);
  s.checks.check(leftMs !== undefined, `${leaver.nodeId} did not leave within ${DRAIN_TIMEOUT_MS + LEAVE_TIMEOUT_MS} ms (drained: ${drainedAt !== undefined})`);
  s.checks.check(heldAtLeave === 0, `${leaver.nodeId} still held ${heldAtLeave} replicas in its table when its drain ended`);
  // The process exits once the membership leave is done.
  if (leftMs !== undefined) s.sim.crash(leaver.nodeId);
  const settledMs = await s.until(() => s.settled(), SETTLE_BOUND_MS);
  s.checks.check(settledMs !== undefined, `the others did not settle within ${SETTLE_BOUND_MS} ms of the leave: ${s.whyUnsettled()}`);
  await s.run(COOL_DOWN_MS);
  const end = await s.settleAndVerify();
  s.checks.check(s.workload.failedCount === 0, `${s.workload.failedCount} client writes failed during a graceful leave`);
  return s.finish({ leaverWasMaster: wasMaster ? 1 : 0, drainMs: drainedAt === undefined ? null : drainedAt - startedAt, leftMs, ...end });
}

/** `join-under-writes`: a node joins a cluster taking writes. */
export const joinUnderWritesScenario: Scenario = {
  name: 'join-under-writes',
  description: 'KV writes while a node joins and partitions migrate to it: replicas never below target, no write fails or is lost',
  defaultNodes: 5,
  minNodes: 2,
  run: (params) => joinUnderWrites(params),
};

/** `leave-under-writes`: a random node (the master, sometimes) drains and leaves gracefully. */
export const leaveUnderWritesScenario: Scenario = {
  name: 'leave-under-writes',
  description: 'KV writes while a random node drains its partitions and leaves: replicas never below target, no write fails or is lost',
  defaultNodes: 5,
  minNodes: 3,
  run: (params) => leaveUnderWrites(params),
};
