/**
 * Shared steps of the sharding scenarios: build a cluster of sharded nodes and wait until
 * it has formed and placed every partition, run a KV client workload, run virtual time
 * with the invariants checked after every instant, and, once the scenario's fault is
 * over, settle: stop the clients, wait for membership and tables to converge, read every
 * acknowledged write back from every live node, and package the result.
 */
import type { Millis } from '../../src/core/clock.js';
import { SeededRandom } from '../../src/core/random.js';
import { DEFAULT_PARTITION_CONFIG } from '../../src/partitions/config.js';
import { Checks, trafficRates, type ScenarioParams, type ScenarioResult } from '../scenario.js';
import { ShardInvariants } from './invariants.js';
import type { ServedWrite } from './kv-observer.js';
import { KvWorkload, type AckedWrite } from './kv-workload.js';
import { tagsEqual } from '../../src/membership/tags.js';
import { describeNodes, isActiveMember, liveNodes, membershipAgreed, shardSimulation, tablesUnsettled, type ShardNode, type ShardSimulation, type ShardSimulationOptions } from './shard-simulation.js';
import type { SimLog } from './sim-logger.js';

/** Longest wait for the first cluster to form and place every partition, ms of virtual time. */
export const FORM_BOUND_MS = 60_000;

/** Longest wait, once the fault is over, for one agreed membership and settled tables, ms of virtual time. */
export const SETTLE_BOUND_MS = 120_000;

/** Longest the final read-back may take, ms of virtual time. */
export const READ_BACK_BOUND_MS = 60_000;

/** How a traced run reports its digest among the result's notes. */
export const TRACE_NOTE_PREFIX = 'trace digest: ';

/** Virtual ms between two client writes. */
export const WRITE_INTERVAL_MS = 25;

/** Mixed into the seed for the workload's own random stream. */
const WORKLOAD_SEED_SALT = 0x5eed_c0de;
/** Mixed into the seed for the scenario's own choices. */
const CHOICE_SEED_SALT = 0x0c40_1ce5;
/** Mixed into the seed for the reads issued while the cluster settles. */
const SETTLE_READ_SEED_SALT = 0x0ead_5e77;
/** Virtual ms between two rounds of reads while the cluster settles. */
const SETTLE_READ_INTERVAL_MS = 50;
/** Reads of acknowledged writes per round while the cluster settles. */
const SETTLE_READS_PER_ROUND = 16;

/** Simulation options a scenario passes on (tracing, the codec round trip, network, configs). */
export type StageOptions = Omit<ShardSimulationOptions, 'seed' | 'onServed'>;

/** A formed cluster with its clients and checks, ready for a scenario's fault. */
export class ShardStage {
  readonly sim: ShardSimulation;
  readonly log: SimLog;
  readonly checks = new Checks();
  readonly workload: KvWorkload;
  readonly invariants: ShardInvariants;
  /** The scenario's own random choices (which node, when). */
  readonly random: SeededRandom;
  readonly backupCount: number;
  formedMs: number | null = null;
  /** Failures injected so far; the planned-move checks hold only while this is 0. */
  faults = 0;
  /** Also told of every write a KV owner handler acknowledged (a scenario's own measurements). */
  onServed: ((write: ServedWrite) => void) | undefined = undefined;
  /** Set once the cluster first settled: placing partitions at formation is not a move. */
  private formed = false;

  private readonly tracing: boolean;
  /** The acknowledged writes the settle reads draw from (refreshed when more were acknowledged). */
  private settleWrites: AckedWrite[] = [];

  private constructor(
    readonly params: ScenarioParams,
    options: StageOptions,
  ) {
    this.tracing = options.trace === true;
    const holder: { invariants?: ShardInvariants } = {};
    const cluster = shardSimulation({ ...options, seed: params.seed, onServed: (w) => {
        holder.invariants?.onServed(w);
        this.onServed?.(w);
      },
    });
    this.sim = cluster.sim;
    this.log = cluster.log;
    this.backupCount = options.sharding?.partitions?.backupCount ?? DEFAULT_PARTITION_CONFIG.backupCount;
    this.random = new SeededRandom(params.seed ^ CHOICE_SEED_SALT);
    const partitionCount = options.sharding?.partitions?.partitionCount ?? DEFAULT_PARTITION_CONFIG.partitionCount;
    this.workload = new KvWorkload(this.sim, new SeededRandom(params.seed ^ WORKLOAD_SEED_SALT), {
      intervalMs: WRITE_INTERVAL_MS,
      clients: () => this.sim.nodes().filter(isActiveMember),
      partitionCount,
    });
    this.invariants = new ShardInvariants(this.sim, {
      backupCount: this.backupCount,
      plannedOnly: () => this.formed && this.faults === 0,
      acked: () => this.workload.acked,
      refused: () => this.workload.refused,
    });
    holder.invariants = this.invariants;
  }

  /** Build the simulation and form a cluster of `nodes`; check that it formed and placed every partition. */
  static async form(params: ScenarioParams, nodes: number, options: StageOptions = {}): Promise<ShardStage> {
    const stage = new ShardStage(params, options);
    stage.sim.addNodes(nodes);
    const formed = await stage.until(() => stage.settled(), FORM_BOUND_MS);
    stage.checks.check(formed !== undefined, `the cluster of ${nodes} did not form and place its partitions within ${FORM_BOUND_MS} ms: ${stage.whyUnsettled()}`);
    stage.formedMs = formed ?? null;
    stage.formed = formed !== undefined;
    return stage;
  }

  /** Run `ms` of virtual time, invariants checked after every instant. */
  async run(ms: Millis): Promise<void> {
    await this.until(() => false, ms);
  }

  /** Run until `pred` holds (at most `timeoutMs`), invariants checked after every instant; how long it took. */
  until(pred: () => boolean, timeoutMs: Millis): Promise<Millis | undefined> {
    return this.sim.waitForAsync(() => {
      this.invariants.check();
      return pred();
    }, timeoutMs);
  }

  /** Record that a failure (crash, cut, stall) is injected now: planned-move checks stop. */
  fault(): void {
    this.faults++;
  }

  /** Live members agree on membership and every table is settled. */
  settled(): boolean {
    const live = liveNodes(this.sim);
    return live.every((n) => n.state === 'up') && membershipAgreed(live) && tablesUnsettled(live, this.backupCount) === undefined;
  }

  /** Why `settled()` is false, for a failure message. */
  whyUnsettled(): string {
    const live = liveNodes(this.sim);
    if (!live.every((n) => n.state === 'up')) return 'a live node is paused';
    if (!membershipAgreed(live)) {
      const views = live.map((n) => `${n.nodeId}: v${n.machine.swim.membersView()?.version ?? 0} master ${n.machine.swim.master() ?? '-'} active ${n.machine.swim.membersView()?.members.filter((m) => m.status === 'active').length ?? 0}`);
      return `membership not agreed (${views.join('; ')})`;
    }
    const why = tablesUnsettled(live, this.backupCount);
    return why === undefined ? 'settled' : `${why} [${describeNodes(this.sim.nodes(), this.sim.now)}]`;
  }

  /** A random node among `nodes`. */
  pick(nodes: readonly ShardNode[]): ShardNode {
    return nodes[this.random.int(nodes.length)]!;
  }

  /**
   * The end of every scenario: stop the clients, wait for their writes to settle and for
   * the cluster to converge (`SETTLE_BOUND_MS`), then read every acknowledged write back
   * from every live node. Returns the measurements it took.
   */
  async settleAndVerify(): Promise<Record<string, number | null>> {
    this.workload.stop();
    const start = this.sim.now;
    const readChoices = new SeededRandom(this.params.seed ^ SETTLE_READ_SEED_SALT);
    let nextReads = start;
    const settledMs = await this.until(() => {
      if (this.sim.now >= nextReads) {
        nextReads = this.sim.now + SETTLE_READ_INTERVAL_MS;
        this.readWhileSettling(readChoices);
      }
      return this.workload.settled() && this.settled();
    }, SETTLE_BOUND_MS);
    this.checks.check(settledMs !== undefined, `the cluster did not converge within ${SETTLE_BOUND_MS} ms after the fault: ${this.whyUnsettled()}`);
    const readStart = this.sim.now;
    const { reads, wrong } = await this.invariants.readBack((done) => this.until(done, READ_BACK_BOUND_MS).then((t) => t !== undefined));
    return {
      convergedMs: settledMs === undefined ? null : settledMs,
      settleStartMs: start - (this.sim.now - this.sim.elapsedMs),
      readBackMs: this.sim.now - readStart,
      reads,
      readsWrong: wrong,
      settleReads: this.invariants.settleReads.issued,
      settleReadsFailed: this.invariants.settleReads.failed,
      settleReadsAbsent: this.invariants.settleReads.absent,
    };
  }

  /**
   * Once every live node is up and membership is one again (one view, which shows every
   * node's tags as the node itself holds them: a merging node announces its handover in a
   * tag), a few reads of acknowledged writes through random nodes: tables and merge
   * handovers may still be settling, and the invariants hold them to "an error, or the
   * value, never absent".
   */
  private readWhileSettling(random: SeededRandom): void {
    const live = liveNodes(this.sim);
    if (!live.every((n) => n.state === 'up') || !membershipAgreed(live) || !tagsAgreed(live)) return;
    if (this.settleWrites.length !== this.workload.acked.size) this.settleWrites = [...this.workload.acked.values()];
    if (this.settleWrites.length === 0) return;
    for (let i = 0; i < SETTLE_READS_PER_ROUND; i++) {
      this.invariants.readDuringSettle(live[random.int(live.length)]!, this.settleWrites[random.int(this.settleWrites.length)]!);
    }
  }

  /** The scenario result: the stage's checks and the invariants' violations, with the workload's figures. */
  finish(measurements: Record<string, number | null | undefined>): ScenarioResult {
    for (const failure of this.invariants.failures()) this.checks.check(false, failure);
    const serviceErrors = this.sim.nodes().reduce((sum, n) => sum + n.machine.stats().serviceErrors, 0);
    this.checks.check(serviceErrors === 0, `${serviceErrors} service callbacks threw (see the log)`);
    const clean: Record<string, number | null> = { formedMs: this.formedMs };
    for (const [k, v] of Object.entries(measurements)) clean[k] = v ?? null;
    clean['writesIssued'] = this.workload.issuedCount;
    clean['writesAcked'] = this.workload.acked.size;
    clean['writesFailed'] = this.workload.failedCount;
    clean['writesRefusedReadOnly'] = this.workload.refused.size;
    clean['servedWrites'] = this.invariants.served;
    const notes = [`write failures by code: ${JSON.stringify(this.workload.failed)}`];
    if (this.tracing) notes.push(`${TRACE_NOTE_PREFIX}${this.sim.traceDigest()}`);
    if (!this.checks.ok) notes.push('recent warnings and errors:', ...this.log.recent().slice(-20));
    return {
      ok: this.checks.ok,
      failures: this.checks.failures,
      measurements: clean,
      ...trafficRates(this.sim.stats(), this.sim.nodes().length, this.sim.elapsedMs),
      virtualMs: this.sim.elapsedMs,
      notes,
    };
  }
}

/** Whether each node's view shows every node's tags as that node holds them. */
function tagsAgreed(nodes: readonly ShardNode[]): boolean {
  const own = new Map(nodes.map((n) => [n.nodeId, n.machine.swim.localState().tags]));
  return nodes.every((n) => (n.machine.swim.membersView()?.members ?? []).every((m) => {
    const tags = own.get(m.nodeId);
    return tags === undefined || tagsEqual(tags, m.tags);
  }));
}
