/**
 * `detect`: crash one member of a healthy cluster and time its detection: the first
 * suspicion anywhere, every survivor declaring it dead, and the master's view dropping
 * it. Nobody else may be declared dead.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, since, stage } from '../swim/scenario-kit.js';

/** Longest acceptable time from the crash until every survivor declared it dead. */
const allDeadBoundMs = 60_000;

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  measureTraffic(s, params.nodes, 20_000);

  const victim = sim.nodes()[params.nodes - 1]!;
  const survivors = sim.nodes().filter((n) => n !== victim);
  const crashAt = sim.now;
  sim.crash(victim.nodeId);
  const allDeadMs = sim.waitFor(() => survivors.every((n) => n.machine.member(victim.nodeId)?.state === 'dead'), allDeadBoundMs);
  const viewMs = sim.waitFor(
    () => survivors.every((n) => !(n.machine.membersView()?.members ?? []).some((m) => m.nodeId === victim.nodeId && m.status === 'active')),
    30_000,
  );
  const firstSuspect = rec.suspicionsOf(victim.nodeId, crashAt)[0]?.at;

  checks.check(allDeadMs !== undefined, `not every survivor declared ${victim.nodeId} dead within ${allDeadBoundMs} ms`);
  checks.check(viewMs !== undefined, `the members view still lists ${victim.nodeId} as active 30 s after everyone declared it dead`);
  const wrong = rec.deathsOutside(new Set([victim.nodeId]));
  checks.check(wrong.length === 0, `live nodes declared dead: ${wrong.map((w) => `${w.node} by ${w.by}`).join(', ')}`);
  return finish(s, {
    firstSuspectMs: since(firstSuspect, crashAt),
    allDeadMs: allDeadMs,
    viewUpdatedMs: allDeadMs === undefined || viewMs === undefined ? null : allDeadMs + viewMs,
  });
}

/** The `detect` scenario. */
export const detectScenario: Scenario = {
  name: 'detect',
  description: 'crash one member; time to first suspicion, to dead everywhere, to the view update',
  defaultNodes: 10,
  minNodes: 3,
  run,
};
