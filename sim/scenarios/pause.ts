/**
 * `pause`: a member's process stalls, as in a long GC pause. A 3 s stall gets it
 * suspected; it refutes on waking, and nobody declares it dead. A stall longer than the
 * suspicion timeout gets it declared dead everywhere; on waking it comes back with a
 * higher incarnation and everyone sees it alive again.
 */
import type { Millis } from '../../src/core/clock.js';
import { DEFAULT_SWIM_CONFIG } from '../../src/membership/config.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, since, stage } from '../swim/scenario-kit.js';
import type { SwimNode } from '../swim/swim-simulation.js';

const shortPauseMs = 3_000;

/** Two and a half times the longest Lifeguard suspicion timeout for `nodes` members. */
function longPauseMsFor(nodes: number): number {
  const { suspicionMult, suspicionMaxTimeoutMult, probeIntervalMs } = DEFAULT_SWIM_CONFIG;
  return Math.ceil(2.5 * suspicionMaxTimeoutMult * suspicionMult * Math.max(1, Math.log10(nodes)) * probeIntervalMs);
}
/** Longest acceptable time after waking until everyone sees the node alive again. */
const backBoundMs = 30_000;

function aliveEverywhere(others: readonly SwimNode[], victim: SwimNode, aboveIncarnation: number): boolean {
  return others.every((n) => {
    const m = n.machine.member(victim.nodeId);
    return m !== undefined && m.state === 'alive' && m.incarnation > aboveIncarnation;
  });
}

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed });
  if (s.formedMs === null) return finish(s, {});
  const { sim, rec, checks } = s;
  measureTraffic(s, params.nodes, 10_000);
  const victim = sim.nodes()[params.nodes - 1]!;
  const others = sim.nodes().filter((n) => n !== victim);

  // A short stall: suspected, refuted, never dead. It starts just as a probe of the victim
  // leaves, so that at least one probe is sure to go unanswered in time.
  let probed = false;
  sim.network.tap((_from, to, _channel, message) => {
    if (to === victim.address && message.type === 'Ping') probed = true;
  });
  sim.waitFor(() => probed, 60_000);
  const before = victim.machine.localState().incarnation;
  const shortAt = sim.now;
  sim.pause(victim.nodeId, shortPauseMs);
  const refutedMs = sim.waitFor(() => aliveEverywhere(others, victim, before), shortPauseMs + backBoundMs);
  sim.runFor(30_000);
  const suspectedAt = rec.suspicionsOf(victim.nodeId, shortAt)[0]?.at;
  checks.check(suspectedAt !== undefined, `a ${shortPauseMs} ms stall went unsuspected`);
  checks.check(refutedMs !== undefined, `after a ${shortPauseMs} ms stall, not everyone saw ${victim.nodeId} alive at a higher incarnation`);
  checks.check(rec.deathsOf(victim.nodeId, shortAt).length === 0, `a ${shortPauseMs} ms stall got ${victim.nodeId} declared dead`);

  // A long stall: dead everywhere, then back with a new incarnation.
  const longPauseMs = longPauseMsFor(params.nodes);
  const deadIncarnation = victim.machine.localState().incarnation;
  const longAt = sim.now;
  sim.pause(victim.nodeId, longPauseMs);
  const allDeadMs = sim.waitFor(() => others.every((n) => n.machine.member(victim.nodeId)?.state === 'dead'), longPauseMs - 1);
  sim.runUntil(longAt + longPauseMs);
  const wokeAt: Millis = sim.now;
  const backMs = sim.waitFor(() => aliveEverywhere(others, victim, deadIncarnation), backBoundMs);
  checks.check(allDeadMs !== undefined, `a ${longPauseMs} ms stall did not get ${victim.nodeId} declared dead by everyone`);
  checks.check(backMs !== undefined, `${victim.nodeId} was not alive everywhere at a new incarnation ${backBoundMs} ms after waking`);
  const wrong = rec.deathsOutside(new Set([victim.nodeId]));
  checks.check(wrong.length === 0, `other nodes declared dead: ${wrong.map((w) => `${w.node} by ${w.by}`).join(', ')}`);

  return finish(s, {
    shortSuspectedMs: since(suspectedAt, shortAt),
    shortRefutedMs: refutedMs,
    longAllDeadMs: allDeadMs,
    longBackMs: since(backMs === undefined ? undefined : wokeAt + backMs, wokeAt),
  });
}

/** The `pause` scenario. */
export const pauseScenario: Scenario = {
  name: 'pause',
  description: '3 s stall: suspected, refutes, not dead; stall past the suspicion timeout: dead, back with a new incarnation',
  defaultNodes: 5,
  minNodes: 3,
  run,
};
