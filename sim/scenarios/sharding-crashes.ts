/**
 * Sharding scenarios with a crash in the middle of a migration wave, under a steady
 * stream of KV writes. A node joins, the master starts moving partitions to it, and while
 * copies are running either the source of an ownership move (`kill-owner-mid-migration`)
 * or the master itself (`master-crash-mid-wave`) crashes. The survivors must fail the
 * crashed node's partitions over to their backups, finish or call off the wave, converge
 * on one table, and lose no acknowledged write.
 */
import type { MigrationRecord } from '../../src/partitions/migration-history.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { ShardStage, SETTLE_BOUND_MS, type StageOptions } from '../sharding/shard-kit.js';
import type { ShardNode } from '../sharding/shard-simulation.js';

/** Writes before the join, ms of virtual time. */
const WARM_UP_MS = 2_000;
/** Longest wait for the wave to have a migration to interrupt, ms of virtual time. */
const WAVE_BOUND_MS = 30_000;
/** The crash comes this many virtual ms (drawn uniformly, whole ms) after the wave was seen running, at most. */
const CRASH_JITTER_MS = 20;

/** In-flight migrations as the master sees them. */
function masterMigrations(nodes: readonly ShardNode[]): { master: ShardNode | undefined; running: MigrationRecord[] } {
  const master = nodes.find((n) => n.state === 'up' && n.machine.swim.isMaster());
  const running = master?.machine.sharding.migrations().inFlight.filter((m) => m.perspective === 'master') ?? [];
  return { master, running };
}

/**
 * Form `nodes - 1`, write, add one node and run until its wave is under way; then crash
 * the node `victim` picks. Returns the victim, or undefined when no wave was seen.
 */
async function crashMidWave(s: ShardStage, nodes: number, victim: (running: MigrationRecord[], master: ShardNode, joiner: ShardNode) => ShardNode | undefined): Promise<{ victim: ShardNode | undefined; waveMs: number | undefined }> {
  s.workload.start();
  await s.run(WARM_UP_MS);
  const joiner = s.sim.addNode();
  let chosen: ShardNode | undefined;
  const wanted = (): boolean => {
    const { master, running } = masterMigrations(s.sim.nodes());
    if (master === undefined || running.length === 0) return false;
    chosen = victim(running, master, joiner);
    return chosen !== undefined;
  };
  const waveMs = await s.until(wanted, WAVE_BOUND_MS);
  s.checks.check(waveMs !== undefined, `no migration to interrupt within ${WAVE_BOUND_MS} ms of ${joiner.nodeId} joining a cluster of ${nodes - 1}`);
  if (waveMs === undefined || chosen === undefined) return { victim: undefined, waveMs };
  await s.run(s.random.int(CRASH_JITTER_MS + 1));
  s.fault();
  s.sim.crash(chosen.nodeId);
  return { victim: chosen, waveMs };
}

/** The source of an ownership move crashes mid-copy. */
export async function killOwnerMidMigration(params: ScenarioParams, options: StageOptions = {}): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, params.nodes - 1, options);
  if (!s.checks.ok) return s.finish({});
  let partition: number | undefined;
  const { victim, waveMs } = await crashMidWave(s, params.nodes, (running, master, joiner) => {
    // An ownership move out of a node other than the master (whose crash is the other scenario) and the joiner.
    const moves = running.filter((m) => m.role === 'owner' && m.source !== master.nodeId && m.source !== joiner.nodeId);
    if (moves.length === 0) return undefined;
    const move = moves[s.random.int(moves.length)]!;
    partition = move.partition;
    return s.sim.node(move.source);
  });
  if (victim === undefined) return s.finish({ waveMs });
  const settledMs = await s.until(() => s.settled(), SETTLE_BOUND_MS);
  s.checks.check(settledMs !== undefined, `the survivors did not settle within ${SETTLE_BOUND_MS} ms of ${victim.nodeId}'s crash: ${s.whyUnsettled()}`);
  const end = await s.settleAndVerify();
  return s.finish({ waveMs, partition, failoverMs: settledMs, ...end });
}

/** The master crashes while its wave runs. */
export async function masterCrashMidWave(params: ScenarioParams, options: StageOptions = {}): Promise<ScenarioResult> {
  const s = await ShardStage.form(params, params.nodes - 1, options);
  if (!s.checks.ok) return s.finish({});
  let inFlight = 0;
  const { victim, waveMs } = await crashMidWave(s, params.nodes, (running, master) => {
    inFlight = running.length;
    return master;
  });
  if (victim === undefined) return s.finish({ waveMs });
  const settledMs = await s.until(() => s.settled(), SETTLE_BOUND_MS);
  s.checks.check(settledMs !== undefined, `the survivors did not settle within ${SETTLE_BOUND_MS} ms of the master's crash: ${s.whyUnsettled()}`);
  const survivors = s.sim.nodes().filter((n) => n.state === 'up');
  const newMaster = survivors.find((n) => n.machine.swim.isMaster());
  s.checks.check(newMaster !== undefined && newMaster.nodeId !== victim.nodeId, 'no new master among the survivors');
  const end = await s.settleAndVerify();
  return s.finish({ waveMs, migrationsInFlightAtCrash: inFlight, recoveredMs: settledMs, ...end });
}

/** `kill-owner-mid-migration`: the source of an ownership move crashes while it copies. */
export const killOwnerMidMigrationScenario: Scenario = {
  name: 'kill-owner-mid-migration',
  description: 'KV writes; a node joins; the owner streaming a partition to it crashes mid-copy: failover, one table, no acknowledged write lost',
  defaultNodes: 5,
  minNodes: 4,
  run: (params) => killOwnerMidMigration(params),
};

/** `master-crash-mid-wave`: the master crashes while its migration wave runs. */
export const masterCrashMidWaveScenario: Scenario = {
  name: 'master-crash-mid-wave',
  description: 'KV writes; a node joins; the master crashes while migrations run: a new master finishes the job, no acknowledged write lost',
  defaultNodes: 5,
  minNodes: 3,
  run: (params) => masterCrashMidWave(params),
};
