/**
 * `tag-race`: many members update their tags concurrently and often (several keys, many
 * versions each, over a slightly lossy network). Once they stop, every member must
 * converge to each node's latest tags, in SWIM state and in the master's members view.
 */
import { SeededRandom } from '../../src/core/random.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';
import type { SwimNode } from '../swim/swim-simulation.js';

const racingMs = 10_000;
const updateEveryMs = 20;
const keys = ['role', 'zone', 'version'];
/** Longest acceptable time from the last update until everyone agrees. */
const convergeBoundMs = 60_000;

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function agreeOnTags(nodes: readonly SwimNode[]): boolean {
  return nodes.every((owner) => {
    const latest = owner.machine.localState().tags;
    return nodes.every((observer) => {
      const seen = observer.machine.member(owner.nodeId);
      const record = observer.machine.membersView()?.members.find((m) => m.nodeId === owner.nodeId);
      return seen !== undefined && sameTags(seen.tags, latest) && record !== undefined && sameTags(record.tags, latest);
    });
  });
}

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed, link: { lossProbability: 0.01 } });
  if (s.formedMs === null) return finish(s, {});
  const { sim, checks } = s;
  measureTraffic(s, params.nodes, 10_000);

  // The workload draws from its own stream so changing it never perturbs the network's.
  const workload = new SeededRandom(params.seed ^ 0x7a6e);
  const nodes = sim.nodes();
  let updates = 0;
  const endAt = sim.now + racingMs;
  while (sim.now < endAt) {
    const node = nodes[workload.int(nodes.length)]!;
    const key = keys[workload.int(keys.length)]!;
    sim.act(node.nodeId, (m) => m.updateTag(key, `v${++updates}`));
    sim.runFor(updateEveryMs);
  }
  const convergedMs = sim.waitFor(() => agreeOnTags(nodes), convergeBoundMs);
  checks.check(convergedMs !== undefined, `members still disagree on tags ${convergeBoundMs} ms after the last update`);
  const deaths = s.rec.failed.length;
  checks.check(deaths === 0, `${deaths} nodes declared dead during the race`);
  return finish(s, { updates, convergedMs });
}

/** The `tag-race` scenario. */
export const tagRaceScenario: Scenario = {
  name: 'tag-race',
  description: 'concurrent tag updates from many nodes converge everywhere to each node\'s latest tags',
  defaultNodes: 10,
  minNodes: 2,
  run,
};
