/**
 * `loss-20`: every UDP datagram has a 20% chance of being lost, for ten virtual minutes.
 * No healthy member may be declared dead by anyone (suspicions are allowed, and counted);
 * a real crash under the same loss must still be detected everywhere.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';

const lossyMs = 10 * 60_000;
const lossProbability = 0.2;
/** Longest acceptable time from the crash until every survivor declared it dead. */
const allDeadBoundMs = 90_000;

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  const lossAt = sim.now;
  sim.network.setDefaults({ lossProbability });
  measureTraffic(s, params.nodes, lossyMs);
  const falseDeaths = rec.failed.filter((f) => f.at >= lossAt);
  checks.check(falseDeaths.length === 0, `healthy nodes declared dead under loss: ${falseDeaths.slice(0, 5).map((f) => `${f.node} by ${f.by}`).join(', ')}`);
  const suspicions = rec.suspected.filter((f) => f.at >= lossAt).length;

  const victim = sim.nodes()[params.nodes - 1]!;
  const survivors = sim.nodes().filter((n) => n !== victim);
  const crashAt = sim.now;
  sim.crash(victim.nodeId);
  const allDeadMs = sim.waitFor(() => survivors.every((n) => n.machine.member(victim.nodeId)?.state === 'dead'), allDeadBoundMs);
  checks.check(allDeadMs !== undefined, `the crashed ${victim.nodeId} was not declared dead by every survivor within ${allDeadBoundMs} ms`);
  const wrong = rec.deathsOutside(new Set([victim.nodeId]), crashAt);
  checks.check(wrong.length === 0, `live nodes declared dead after the crash: ${wrong.slice(0, 5).map((w) => `${w.node} by ${w.by}`).join(', ')}`);

  const dropped = sim.stats().dropped.loss;
  return finish(s, {
    falseDeaths: falseDeaths.length,
    falseSuspicions: suspicions,
    allDeadMs,
  }, [`${dropped} datagrams lost; ${suspicions} suspicions of healthy nodes over ${lossyMs / 60_000} min, all refuted`]);
}

/** The `loss-20` scenario. */
export const loss20Scenario: Scenario = {
  name: 'loss-20',
  description: '20% UDP loss for 10 min: no healthy node declared dead; a real crash still detected',
  defaultNodes: 10,
  minNodes: 3,
  run,
};
