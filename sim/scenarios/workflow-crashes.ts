/**
 * `workflow-crashes`: the production workflow and timer services on simulated nodes over
 * one shared fenced store. A 20-step workflow (with a durable sleep and a child workflow
 * on another partition) runs once without faults, then again while its node is killed
 * right after chosen commit boundaries and in the middle of chosen activities (each seed
 * takes every 7th point of the list of all of them, so seeds 0..6 cover every boundary
 * and every activity); each killed node is replaced by a new one, so partitions move.
 * Meanwhile durable timers are due throughout. Held to: the same result as the
 * failure-free run; no activity runs again once its journal entry committed; every step
 * journaled; every timer fires exactly once and never early; the cluster converges.
 */
import type { Millis } from '../../src/core/clock.js';
import type { NodeId } from '../../src/core/model.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { SETTLE_BOUND_MS, ShardStage } from '../sharding/shard-kit.js';
import { isActiveMember } from '../sharding/shard-simulation.js';
import { NodeStores } from '../durable/node-stores.js';
import { PROBE_TIMER_KIND, WORKFLOW_STEPS, WorkflowProbe } from '../durable/workflow-probe.js';

/** Every how many crash points a seed takes one (seeds 0..STRIDE-1 cover them all). */
export const CRASH_POINT_STRIDE = 7;
/** Partitions of the simulated cluster: enough for the workflow, its child and the timers to spread. */
const PARTITIONS = 32;
/** Longest one execution may take, faults included, virtual ms. */
const EXECUTION_BOUND_MS = 400_000;
/** A client that saw no result asks again this often (a start of a running id waits for it), virtual ms. */
const ASK_AGAIN_MS = 3_000;
/** Durable timers due during the faulty run, one every TIMER_SPACING_MS. */
const TIMERS = 24;
const TIMER_SPACING_MS = 1_500;
/** Longest wait for the last timer after the run, virtual ms. */
const TIMERS_BOUND_MS = 120_000;

/** The crash points of a seed: boundaries 1..B of the execution and its activities 0..19, every STRIDE-th. */
export function crashPoints(seed: number, boundaries: number): { boundaries: Set<number>; steps: Set<number> } {
  const all = [...Array.from({ length: boundaries }, (_, i) => ({ b: i + 1 })), ...Array.from({ length: WORKFLOW_STEPS }, (_, i) => ({ s: i }))];
  const chosen = all.filter((_, i) => i % CRASH_POINT_STRIDE === seed % CRASH_POINT_STRIDE);
  return {
    boundaries: new Set(chosen.flatMap((p) => ('b' in p ? [p.b] : []))),
    steps: new Set(chosen.flatMap((p) => ('s' in p ? [p.s] : []))),
  };
}

async function workflowCrashes(params: ScenarioParams): Promise<ScenarioResult> {
  const holder: { now?: () => number } = {};
  const stores = new NodeStores(new MemoryStorage(), (writer, commit, dies) => probe.observe(writer, commit, dies));
  const probe = new WorkflowProbe(() => holder.now?.() ?? 0, (node) => stores.kill(node));
  const s = await ShardStage.form(params, params.nodes, {
    sharding: { partitions: { partitionCount: PARTITIONS } },
    durable: { storage: (id) => stores.view(id), workflows: (id, timers) => probe.workflows(id, timers), timerKinds: () => probe.timerKinds() },
  });
  holder.now = () => s.sim.now;
  if (!s.checks.ok) return s.finish({});
  const main = probe.main();
  const live = (): NodeId[] => s.sim.nodes().filter((n) => isActiveMember(n) && !stores.isDead(n.nodeId)).map((n) => n.nodeId);
  const ask = (exec: string): void => {
    const nodes = live();
    if (nodes.length === 0) return;
    const host = s.sim.machine(s.pick(s.sim.nodes().filter((n) => nodes.includes(n.nodeId))).nodeId);
    void host.durable!.workflows.run(main, exec, { seed: params.seed }, { waitMs: ASK_AGAIN_MS }).catch(() => undefined);
  };
  let resumeMsMax = 0;
  const execute = async (exec: string): Promise<Millis | undefined> => {
    const start = s.sim.now;
    ask(exec);
    let lastAsk = s.sim.now;
    while (s.sim.now - start < EXECUTION_BOUND_MS) {
      await s.until(() => probe.toCrash.length > 0 || probe.results.has(exec) || s.sim.now - lastAsk >= ASK_AGAIN_MS, EXECUTION_BOUND_MS);
      for (let node = probe.toCrash.shift(); node !== undefined; node = probe.toCrash.shift()) {
        // The node is dead to storage already; its process goes once the last replacement
        // joined, so the cluster never loses its majority to back-to-back crashes.
        await s.until(() => s.settled(), SETTLE_BOUND_MS);
        s.fault();
        s.sim.crash(node);
        const before = probe.boundaries.get(exec) ?? 0;
        const resumed = await s.until(() => (probe.boundaries.get(exec) ?? 0) > before || probe.toCrash.length > 0 || probe.results.has(exec), EXECUTION_BOUND_MS);
        if (resumed !== undefined) resumeMsMax = Math.max(resumeMsMax, resumed);
        // A new process takes the dead one's place (through live seeds): partitions move to it.
        s.sim.addNode({ seeds: live().map((id) => s.sim.node(id).address) });
        await s.until(() => s.settled() || probe.toCrash.length > 0, SETTLE_BOUND_MS);
      }
      if (probe.results.has(exec)) return s.sim.now - start;
      if (s.sim.now - lastAsk >= ASK_AGAIN_MS) {
        ask(exec);
        lastAsk = s.sim.now;
      }
    }
    return undefined;
  };

  // The failure-free run: its result, and its number of commit boundaries.
  const referenceMs = await execute('reference');
  s.checks.check(referenceMs !== undefined, `the failure-free run did not finish within ${EXECUTION_BOUND_MS} ms`);
  const boundaries = probe.boundaries.get('reference') ?? 0;

  // Timers due all through the faulty run, on partitions across the cluster.
  const first = s.sim.machine(live()[0]!);
  const t0 = s.sim.now;
  for (let i = 0; i < TIMERS; i++) void first.durable!.timers.schedule({ id: `probe-${i}`, key: `probe-key-${i}`, dueAt: t0 + 1_000 + i * TIMER_SPACING_MS, kind: PROBE_TIMER_KIND }).catch(() => undefined);
  const scheduled = await s.until(() => probe.timersSet.size === TIMERS, 10_000);
  s.checks.check(scheduled !== undefined, `only ${probe.timersSet.size} of ${TIMERS} timers were scheduled`);

  probe.plan = { exec: 'faulty', ...crashPoints(params.seed, boundaries) };
  const planned = probe.plan.boundaries.size + probe.plan.steps.size;
  const faultyMs = await execute('faulty');
  s.checks.check(faultyMs !== undefined, `the run with crashes did not finish within ${EXECUTION_BOUND_MS} ms (${probe.boundaries.get('faulty') ?? 0} commits)`);
  s.checks.check(probe.crashed.boundary + probe.crashed.mid === planned, `${probe.crashed.boundary + probe.crashed.mid} of ${planned} planned crashes happened`);
  s.checks.check(JSON.stringify(probe.results.get('faulty')) === JSON.stringify(probe.results.get('reference')), `result ${JSON.stringify(probe.results.get('faulty'))} differs from the failure-free ${JSON.stringify(probe.results.get('reference'))}`);
  for (const v of probe.violations(['reference', 'reference/child', 'faulty', 'faulty/child'])) s.checks.check(false, v);

  const timersMs = await s.until(() => probe.firings.size === TIMERS, TIMERS_BOUND_MS);
  s.checks.check(timersMs !== undefined, `${probe.firings.size} of ${TIMERS} timers fired within ${TIMERS_BOUND_MS} ms`);
  for (const [id, f] of probe.firings) {
    s.checks.check(f.count === 1, `timer ${id} fired ${f.count} times`);
    const due = probe.timersSet.get(id) ?? 0;
    s.checks.check(f.at >= due, `timer ${id} fired at ${f.at}, before its due time ${due}`);
  }
  const settledMs = await s.until(() => s.settled(), 120_000);
  s.checks.check(settledMs !== undefined, `the cluster did not converge after the faults: ${s.whyUnsettled()}`);
  const lags = [...probe.firings].map(([id, f]) => f.at - (probe.timersSet.get(id) ?? 0));
  return s.finish({
    referenceMs,
    faultyMs,
    commitBoundaries: boundaries,
    crashesPlanned: planned,
    crashesAtBoundary: probe.crashed.boundary,
    crashesMidActivity: probe.crashed.mid,
    activityRunsReference: probe.runsOf('reference'),
    activityRunsFaulty: probe.runsOf('faulty'),
    resumeMsMax,
    timersFired: probe.firings.size,
    timerLagMsMax: lags.length === 0 ? null : Math.max(...lags),
  });
}

/** `workflow-crashes`: a 20-step workflow killed at commit boundaries and mid-activity, with timers under partition moves. */
export const workflowCrashesScenario: Scenario = {
  name: 'workflow-crashes',
  description: `a 20-step workflow (sleep, child) whose node is killed after every ${CRASH_POINT_STRIDE}th commit boundary or activity: same result as without faults, no journaled step run again, timers fire once`,
  defaultNodes: 4,
  minNodes: 3,
  run: (params) => workflowCrashes(params),
};
