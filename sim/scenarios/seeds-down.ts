/**
 * `seeds-down`: every seed of a running cluster crashes, then a new node tries to join
 * through them. It must keep retrying with exponential backoff (100 ms doubling to 10 s,
 * each wait within ±25%), join at its first attempt after one seed is back, and end up
 * in one cluster with the members that never went down.
 */
import { DEFAULT_SWIM_CONFIG } from '../../src/membership/config.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { finish, measureTraffic, stage } from '../swim/scenario-kit.js';
import { simAddress } from '../simulation.js';
import { agreedMaster, converged } from '../swim/swim-simulation.js';

/** How long after the joiner starts one seed comes back: past the point where backoff is capped. */
const seedBackAfterMs = 20_000;
/** Slack for rounding of the jittered waits. */
const roundingMs = 1;
/** A join attempt to a serving seed completes within a few network round trips. */
const joinRoundTripBoundMs = 50;

/** Whether each wait between attempts lies within the configured backoff and jitter. */
function backoffViolations(attemptTimes: readonly number[]): string[] {
  const { joinBackoffInitialMs, joinBackoffMaxMs, joinBackoffJitter } = DEFAULT_SWIM_CONFIG;
  const out: string[] = [];
  for (let k = 1; k < attemptTimes.length; k++) {
    const wait = attemptTimes[k]! - attemptTimes[k - 1]!;
    const base = Math.min(joinBackoffMaxMs, joinBackoffInitialMs * 2 ** (k - 1));
    const low = base * (1 - joinBackoffJitter) - roundingMs;
    const high = base * (1 + joinBackoffJitter) + roundingMs;
    if (wait < low || wait > high) out.push(`wait ${k} was ${wait} ms, outside [${Math.round(low)}, ${Math.round(high)}]`);
  }
  return out;
}

function run(params: ScenarioParams): ScenarioResult {
  const s = stage(params.nodes, { seed: params.seed, seedCount: 3 });
  if (s.formedMs === null) return finish(s, {});
  const { sim, checks } = s;
  measureTraffic(s, params.nodes, 10_000);

  const seeds = sim.seedAddresses();
  for (const node of sim.nodes().filter((n) => seeds.includes(n.address))) sim.crash(node.nodeId);
  const joinerAddress = simAddress(sim.nodes().length);
  const attempts: number[] = [];
  let recording = true;
  sim.network.tap((from, _to, _channel, message, now) => {
    if (recording && from === joinerAddress && message.type === 'JoinRequest' && attempts[attempts.length - 1] !== now) attempts.push(now);
  });
  const joiner = sim.addNode();
  const startAt = sim.now;
  sim.runUntil(startAt + seedBackAfterMs);
  checks.check(joiner.machine.status() === 'joining', `the joiner is '${joiner.machine.status()}' while every seed is down`);

  const seedUpAt = sim.now;
  sim.restart(sim.nodes()[1]!.nodeId, { seeds });
  const capMs = DEFAULT_SWIM_CONFIG.joinBackoffMaxMs * (1 + DEFAULT_SWIM_CONFIG.joinBackoffJitter);
  const joinedMs = sim.waitFor(() => joiner.machine.status() === 'running', capMs + 5_000);
  const joinedAt = joinedMs === undefined ? undefined : seedUpAt + joinedMs;
  // Later JoinRequests (a rejoin while the clusters merge) are not part of the backoff.
  recording = false;
  const attemptsWhileDown = attempts.filter((t) => t < seedUpAt).length;
  const seedNode = sim.nodes()[1]!;
  const seedFormedAt = s.rec.joinCompleted.find((j) => j.by === seedNode.nodeId && j.at >= seedUpAt)?.at;
  const firstUsefulAttempt = seedFormedAt === undefined ? undefined : attempts.find((t) => t >= seedFormedAt);

  checks.check(joinedAt !== undefined, `the joiner had not joined ${capMs + 5_000} ms after a seed came back`);
  checks.check(attemptsWhileDown >= 2, `only ${attemptsWhileDown} join attempts while the seeds were down`);
  for (const v of backoffViolations(attempts)) checks.check(false, v);
  checks.check(seedFormedAt !== undefined, 'the restarted seed never completed its own join');
  checks.check(
    joinedAt === undefined || firstUsefulAttempt === undefined || joinedAt - firstUsefulAttempt <= joinRoundTripBoundMs,
    `the joiner did not join at its first attempt after the seed was serving (attempt at +${(firstUsefulAttempt ?? 0) - seedUpAt} ms, joined at +${(joinedAt ?? 0) - seedUpAt} ms)`,
  );

  const oneClusterMs = sim.waitFor(() => converged(sim.upNodes()) && agreedMaster(sim.upNodes()) !== undefined, 120_000);
  checks.check(oneClusterMs !== undefined, 'the restarted seed, the joiner and the other members did not end up in one cluster');
  return finish(s, {
    attemptsWhileDown,
    longestWaitMs: attempts.length >= 2 ? Math.max(...attempts.slice(1).map((t, i) => t - attempts[i]!)) : null,
    seedServingMs: seedFormedAt === undefined ? null : seedFormedAt - seedUpAt,
    joinedAfterSeedUpMs: joinedMs,
    oneClusterMs: joinedMs === undefined || oneClusterMs === undefined ? null : joinedMs + oneClusterMs,
  });
}

/** The `seeds-down` scenario. */
export const seedsDownScenario: Scenario = {
  name: 'seeds-down',
  description: 'every seed down: the joiner backs off 100 ms..10 s (±25%), joins once a seed is back',
  defaultNodes: 6,
  minNodes: 4,
  run,
};
