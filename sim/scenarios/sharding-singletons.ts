/**
 * `singleton-moves`: a cluster singleton through a crash of its leader, a join and a
 * graceful leave of its leader, over one shared fenced store. The singleton draws from its
 * durable counter every few hundred virtual ms. Held to: no two nodes lead it at one
 * epoch; no two live nodes lead it at the same instant; no counter value is handed out
 * twice, and values grow with the epoch; after each fault a live node leads it again.
 */
import type { Millis } from '../../src/core/clock.js';
import { sleep } from '../../src/core/timers.js';
import { defineSingleton, type SingletonDefinition } from '../../src/entities/singleton-definition.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { Scenario, ScenarioParams, ScenarioResult } from '../scenario.js';
import { SETTLE_BOUND_MS, ShardStage, type StageOptions } from '../sharding/shard-kit.js';
import type { ShardNode } from '../sharding/shard-simulation.js';

/** The singleton's name. */
const NAME = 'sim-clock';
/** Pause between two draws of the counter, virtual ms. */
const DRAW_INTERVAL_MS = 200;
/** Longest wait for a leader after a fault, virtual ms. */
const LEADER_BOUND_MS = 30_000;
/** Time run between faults, virtual ms. */
const STEADY_MS = 2_000;
/** Bound on the graceful leave (drain and membership leave), virtual ms. */
const LEAVE_BOUND_MS = 40_000;
/** Most draws recorded: a runaway scenario fails instead of growing without bound. */
const DRAWS_MAX = 100_000;

interface Run {
  readonly node: string;
  readonly epoch: number;
}

interface Draw extends Run {
  readonly value: number;
}

/** What the singleton did, as it reports it. */
class SingletonRecorder {
  readonly runs: Run[] = [];
  readonly draws: Draw[] = [];
  drawErrors = 0;

  definition(): SingletonDefinition {
    return defineSingleton(
      NAME,
      async (ctx) => {
        this.runs.push({ node: ctx.nodeId, epoch: ctx.epoch });
        while (!ctx.signal.aborted && this.draws.length < DRAWS_MAX) {
          try {
            this.draws.push({ node: ctx.nodeId, epoch: ctx.epoch, value: await ctx.next() });
          } catch {
            // Deposed: the signal follows.
            this.drawErrors++;
          }
          await sleep(ctx.timers, DRAW_INTERVAL_MS);
        }
      },
      { handoverWaitMs: 2_000 },
    );
  }

  /** What breaks the singleton's guarantees in what was recorded. */
  violations(): string[] {
    const out: string[] = [];
    const byEpoch = new Map<number, Set<string>>();
    for (const r of this.runs) byEpoch.set(r.epoch, (byEpoch.get(r.epoch) ?? new Set()).add(r.node));
    for (const [epoch, nodes] of byEpoch) if (nodes.size > 1) out.push(`epoch ${epoch} was led by ${[...nodes].join(', ')}`);
    const seen = new Map<number, Draw>();
    for (const d of this.draws) {
      const before = seen.get(d.value);
      if (before !== undefined) out.push(`value ${d.value} handed out twice (${before.node}@${before.epoch}, ${d.node}@${d.epoch})`);
      seen.set(d.value, d);
    }
    const sorted = [...this.draws].sort((a, b) => a.value - b.value);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.epoch < sorted[i - 1]!.epoch) out.push(`value ${sorted[i]!.value} (epoch ${sorted[i]!.epoch}) came after ${sorted[i - 1]!.value} (epoch ${sorted[i - 1]!.epoch})`);
    }
    return out.slice(0, 10);
  }
}

/** Up nodes that lead the singleton now. */
function leaders(s: ShardStage): ShardNode[] {
  return s.sim.nodes().filter((n) => n.state === 'up' && !n.machine.hasLeft() && (n.machine.singletons?.status().some((st) => st.name === NAME && st.leading) ?? false));
}

async function singletonMoves(params: ScenarioParams, options: StageOptions = {}): Promise<ScenarioResult> {
  const recorder = new SingletonRecorder();
  const storage = new MemoryStorage();
  const s = await ShardStage.form(params, params.nodes, { ...options, singletons: { definitions: [recorder.definition()], storage } });
  if (!s.checks.ok) return s.finish({});
  let twoAtOnce = 0;
  const watch = (pred: () => boolean, bound: Millis): Promise<Millis | undefined> =>
    s.until(() => {
      if (leaders(s).length > 1) twoAtOnce++;
      return pred();
    }, bound);
  const aLeader = async (what: string): Promise<Millis | undefined> => {
    const ms = await watch(() => leaders(s).length === 1, LEADER_BOUND_MS);
    s.checks.check(ms !== undefined, `no live node led ${NAME} within ${LEADER_BOUND_MS} ms ${what}`);
    return ms;
  };

  await aLeader('after the cluster formed');
  await watch(() => false, STEADY_MS);

  // Crash of the leader: a survivor takes over once the failover promotes it.
  const crashed = leaders(s)[0];
  let failoverMs: Millis | undefined;
  if (crashed !== undefined) {
    s.fault();
    s.sim.crash(crashed.nodeId);
    failoverMs = await aLeader(`after ${crashed.nodeId} (its leader) crashed`);
    await watch(() => false, STEADY_MS);
  }

  // A join: the partition may move to the newcomer (a planned move with a handover).
  s.sim.addNode();
  const joinSettledMs = await watch(() => s.settled(), SETTLE_BOUND_MS);
  s.checks.check(joinSettledMs !== undefined, `the cluster did not settle after a join: ${s.whyUnsettled()}`);
  await aLeader('after a join');
  await watch(() => false, STEADY_MS);

  // A graceful leave of the leader: handed over before its partition moves.
  const leaver = leaders(s)[0];
  let handoverMs: Millis | undefined;
  if (leaver !== undefined) {
    void leaver.machine.leave(s.sim.now + LEAVE_BOUND_MS / 2);
    const leftMs = await watch(() => leaver.machine.hasLeft(), LEAVE_BOUND_MS);
    s.checks.check(leftMs !== undefined, `${leaver.nodeId} did not leave within ${LEAVE_BOUND_MS} ms`);
    if (leftMs !== undefined) s.sim.crash(leaver.nodeId);
    handoverMs = await aLeader(`after ${leaver.nodeId} (its leader) left`);
    await watch(() => false, STEADY_MS);
  }

  const end = await s.settleAndVerify();
  for (const v of recorder.violations()) s.checks.check(false, v);
  s.checks.check(twoAtOnce === 0, `two live nodes led ${NAME} at once at ${twoAtOnce} instants`);
  s.checks.check(recorder.draws.length > 0, 'the singleton drew no value');
  return s.finish({ failoverMs, handoverMs, leaderships: recorder.runs.length, draws: recorder.draws.length, drawErrors: recorder.drawErrors, ...end });
}

/** `singleton-moves`: a singleton through a crash of its leader, a join and a graceful leave. */
export const singletonMovesScenario: Scenario = {
  name: 'singleton-moves',
  description: 'a cluster singleton through a leader crash, a join and a leader leave: one leader per epoch, never two live at once, no counter value twice',
  defaultNodes: 4,
  minNodes: 3,
  run: (params) => singletonMoves(params),
};
