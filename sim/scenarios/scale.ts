/**
 * `scale`: a large healthy cluster (500 nodes by default) for ten virtual minutes. It
 * measures how fast the simulator runs the real SWIM machines (real time against virtual
 * time) and the steady per-member traffic; nobody may be declared dead, and every node
 * must still see every other alive at the end.
 */
import { performance } from 'node:perf_hooks';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';
import { allSeeAlive } from '../swim/swim-simulation.js';

const totalMs = 10 * 60_000;
/** Bytes are counted on one message in this many per type: encoding them all costs more than simulating. */
const sizeSampleEvery = 16;

function run(params: ScenarioParams): ScenarioResult {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const s = stage(params.nodes, { seed: params.seed, sizeSampleEvery }, 120_000);
  if (s.formedMs === null) return finish(s, {});
  const formedWallMs = performance.now() - start;
  measureTraffic(s, params.nodes, totalMs - s.sim.elapsedMs);
  const { sim, rec, checks } = s;
  checks.check(rec.failed.length === 0, `${rec.failed.length} deaths declared in a healthy cluster`);
  checks.check(allSeeAlive(sim.nodes(), sim.nodes()), 'not every node sees every other alive at the end');
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const stats = sim.stats();
  return finish(s, { suspicions: rec.suspected.length, deaths: rec.failed.length }, [
    `real time: ${(wallMs / 1000).toFixed(1)} s (CPU ${(cpuMs / 1000).toFixed(1)} s) for ${totalMs / 60_000} virtual minutes of ${params.nodes} nodes (formation ${(formedWallMs / 1000).toFixed(1)} s)`,
    `${stats.sentMessages} messages in the steady window, ${sim.scheduler.executedCount} simulator actions in all`,
    `by type: ${Object.entries(stats.byType).map(([t, c]) => `${t} ${c.messages}`).join(', ')}`,
  ]);
}

/** The `scale` scenario. */
export const scaleScenario: Scenario = {
  name: 'scale',
  description: '500 nodes for 10 virtual minutes: simulator speed and steady traffic; no false deaths',
  defaultNodes: 500,
  minNodes: 2,
  run,
};
