/**
 * `ping`: a sanity check of the simulator engine on the heartbeat test machine. Nodes
 * heartbeat all-to-all over a slightly lossy network; one crashes and every survivor must
 * call it down within bounds, nobody else; it restarts and every survivor sees it again.
 */
import { HeartbeatMachine, type HeartbeatEvent, type HeartbeatMessage } from '../machines/heartbeat.js';
import { Checks, trafficRates, type Scenario, type ScenarioParams, type ScenarioResult } from '../scenario.js';
import { Simulation, simAddress } from '../simulation.js';

const settleMs = 10_000;
const windowMs = 30_000;
const detectBoundMs = 5_000;

/** Build a heartbeat cluster of `nodes` nodes on a simulation seeded with `seed`. */
export function heartbeatSimulation(params: ScenarioParams, options: { trace?: boolean; lossProbability?: number } = {}): Simulation<HeartbeatMessage, HeartbeatEvent, HeartbeatMachine> {
  const peers = Array.from({ length: params.nodes }, (_, i) => simAddress(i));
  const sim = new Simulation<HeartbeatMessage, HeartbeatEvent, HeartbeatMachine>({
    seed: params.seed,
    trace: options.trace ?? false,
    network: {
      link: { lossProbability: options.lossProbability ?? 0.01 },
      sizeOf: (m) => JSON.stringify(m).length,
    },
    factory: (ctx) => new HeartbeatMachine({ self: ctx.address, peers, random: ctx.random, now: ctx.now }),
  });
  sim.addNodes(params.nodes);
  return sim;
}

function run(params: ScenarioParams): ScenarioResult {
  const sim = heartbeatSimulation(params);
  const checks = new Checks();
  const downs: { at: number; by: string; peer: string }[] = [];
  sim.observe((nodeId, e, now) => {
    if (e.type === 'peer-down') downs.push({ at: now, by: nodeId, peer: e.peer });
  });
  sim.runFor(settleMs);
  sim.network.resetStats();
  sim.runFor(windowMs);
  const traffic = trafficRates(sim.stats(), params.nodes, windowMs);
  checks.check(downs.length === 0, `${downs.length} false peer-down events before any crash`);

  const victim = sim.nodes()[params.nodes - 1]!;
  const survivors = sim.nodes().filter((n) => n !== victim);
  const crashAt = sim.now;
  sim.crash(victim.nodeId);
  const allDown = sim.waitFor(() => survivors.every((n) => n.machine.downPeers().includes(victim.address)), 30_000);
  const victimDowns = downs.filter((d) => d.peer === victim.address);
  const firstDownMs = victimDowns.length > 0 ? victimDowns[0]!.at - crashAt : null;
  checks.check(allDown !== undefined, 'not every survivor called the crashed node down within 30 s');
  checks.check(allDown === undefined || allDown <= detectBoundMs, `detection took ${allDown} ms (bound ${detectBoundMs} ms)`);
  checks.check(downs.length === victimDowns.length, 'a live node was called down');

  sim.restart(victim.nodeId);
  const rejoinMs = sim.waitFor(() => survivors.every((n) => !n.machine.downPeers().includes(victim.address)), 10_000);
  checks.check(rejoinMs !== undefined, 'survivors did not see the restarted node within 10 s');

  return {
    ok: checks.ok,
    failures: checks.failures,
    measurements: { firstDownMs, allDownMs: allDown ?? null, rejoinMs: rejoinMs ?? null },
    ...traffic,
    virtualMs: sim.elapsedMs,
  };
}

/** The `ping` scenario. */
export const pingScenario: Scenario = {
  name: 'ping',
  description: 'engine sanity check: heartbeat machine, 1% loss, one crash detected, restart seen',
  defaultNodes: 5,
  minNodes: 2,
  run,
};
