/**
 * `disseminate`: one member updates a tag in a healthy cluster; time until 99% and until
 * all of the other members know the new value through gossip.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';

/** Longest acceptable time for the update to reach every member. */
const allBoundMs = 10_000;

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  measureTraffic(s, params.nodes, 10_000);

  const origin = sim.nodes()[Math.floor(params.nodes / 2)]!;
  const others = sim.nodes().filter((n) => n !== origin);
  const startAt = sim.now;
  sim.act(origin.nodeId, (m) => m.updateTag('version', '2'));
  const knows = (): number => others.filter((n) => n.machine.member(origin.nodeId)?.tags['version'] === '2').length;
  const p99Target = Math.ceil(0.99 * others.length);
  const p99Ms = sim.waitFor(() => knows() >= p99Target, allBoundMs);
  const allMs = sim.waitFor(() => knows() === others.length, allBoundMs);

  const learned = rec.tags.filter((t) => t.node === origin.nodeId && t.tags['version'] === '2' && t.by !== origin.nodeId);
  const distinct = new Set(learned.map((t) => t.by));
  checks.check(allMs !== undefined, `only ${knows()} of ${others.length} members learned the tag within ${allBoundMs} ms`);
  checks.check(distinct.size === others.length, `NodeTagsUpdated reached ${distinct.size} of ${others.length} members`);
  return finish(s, {
    p99Ms: p99Ms,
    allMs: p99Ms === undefined || allMs === undefined ? null : p99Ms + allMs,
    firstMs: learned.length > 0 ? Math.min(...learned.map((t) => t.at)) - startAt : null,
  });
}

/** The `disseminate` scenario. */
export const disseminateScenario: Scenario = {
  name: 'disseminate',
  description: 'one tag update; time until 99% and 100% of members know it',
  defaultNodes: 50,
  minNodes: 2,
  run,
};
