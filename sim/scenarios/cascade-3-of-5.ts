/**
 * `cascade-3-of-5`: three of five members (the master among them) crash at once. The
 * survivors must declare all three dead, agree on one members view and one master among
 * themselves, and never declare each other dead.
 */
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';
import { agreedMaster, agreedView } from '../swim/swim-simulation.js';

/** Longest acceptable time from the crashes until the survivors agree. */
const agreeBoundMs = 120_000;

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  measureTraffic(s, params.nodes, 10_000);

  const crashCount = Math.ceil((params.nodes * 3) / 5);
  const victims = sim.nodes().slice(0, crashCount);
  const survivors = sim.nodes().slice(crashCount);
  const crashAt = sim.now;
  for (const v of victims) sim.crash(v.nodeId);
  const allDead = (): boolean => survivors.every((n) => victims.every((v) => n.machine.member(v.nodeId)?.state === 'dead'));
  const allDeadMs = sim.waitFor(allDead, agreeBoundMs);
  const agree = (): boolean => {
    const master = agreedMaster(survivors);
    return master !== undefined && survivors.some((n) => n.nodeId === master) && agreedView(survivors);
  };
  const agreedMs = sim.waitFor(agree, agreeBoundMs);
  sim.runFor(30_000);

  checks.check(allDeadMs !== undefined, `survivors did not declare all ${crashCount} crashed nodes dead within ${agreeBoundMs} ms`);
  checks.check(agreedMs !== undefined, 'survivors did not agree on one view and a master among themselves');
  checks.check(agree(), 'survivors disagreed again after agreeing');
  const view = survivors[0]!.machine.membersView();
  const active = new Set((view?.members ?? []).filter((m) => m.status === 'active').map((m) => m.nodeId));
  checks.check(survivors.every((n) => active.has(n.nodeId)), `the agreed view does not list every survivor active: ${[...active].join(', ')}`);
  checks.check(victims.every((v) => !active.has(v.nodeId)), 'the agreed view still lists a crashed node as active');
  const wrong = rec.deathsOutside(new Set(victims.map((v) => v.nodeId)), crashAt);
  checks.check(wrong.length === 0, `survivors declared dead: ${wrong.map((w) => `${w.node} by ${w.by}`).join(', ')}`);

  return finish(s, {
    allDeadMs,
    agreedMs: allDeadMs === undefined || agreedMs === undefined ? null : allDeadMs + agreedMs,
  }, [`master after the cascade: ${agreedMaster(survivors) ?? 'none agreed'}`]);
}

/** The `cascade-3-of-5` scenario. */
export const cascadeScenario: Scenario = {
  name: 'cascade-3-of-5',
  description: '3 of 5 crash at once (master included); survivors agree on view and master, none declared dead',
  defaultNodes: 5,
  minNodes: 3,
  run,
};
