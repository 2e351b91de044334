/**
 * The invariants every sharding scenario is held to while it runs, checked after every
 * virtual instant (the cheap ones) or every few virtual milliseconds (those that walk the
 * data), plus the final read-back:
 *
 * - one writer per (partition, epoch): no two nodes' KV owner handlers acknowledge a
 *   write for one partition at one epoch;
 * - during a planned move (join, graceful leave; checked until the scenario injects a
 *   failure), no partition has fewer live replicas than its target, in the master's table
 *   and in the data: every acknowledged write is held by at least that many live nodes;
 * - no migration stays in flight longer than `MIGRATION_BOUND_MS`;
 * - once the fault is over and membership is one again (merge handovers and rebalancing
 *   may still run), a read of an acknowledged write may fail (the caller retries), never
 *   answer "absent" (`readDuringSettle`);
 * - (at the end, `readBack`) every acknowledged write reads back, through routing, from
 *   every live node.
 */
import type { Millis } from '../../src/core/clock.js';
import { isFlotillaError } from '../../src/core/errors.js';
import type { NodeId } from '../../src/core/model.js';
import type { ServedWrite } from './kv-observer.js';
import type { AckedWrite, RefusedWrite } from './kv-workload.js';
import { liveNodes, type ShardNode, type ShardSimulation } from './shard-simulation.js';

/**
 * Longest a migration may stay in flight on any node, ms of virtual time: the master's
 * `migrationTimeoutMs` (60 s by default) cancels a stuck copy, and 15 s cover the
 * cancellation reaching both sides, or a new master's handover after a crash.
 */
export const MIGRATION_BOUND_MS = 75_000;

/** How often the checks that walk every acknowledged write run, ms of virtual time. */
export const DATA_CHECK_INTERVAL_MS = 50;

/** How often migration ages are checked, ms of virtual time. */
export const MIGRATION_CHECK_INTERVAL_MS = 100;

/** Violations recorded per kind; the first ones say enough. */
export const VIOLATIONS_PER_KIND_MAX = 3;

/** Reads of the final read-back in flight at once. */
export const READ_BACK_CONCURRENCY = 64;

/** What the checks need from the scenario. */
export interface InvariantOptions {
  readonly backupCount: number;
  /** True while only planned moves happen (no failure injected yet). */
  readonly plannedOnly: () => boolean;
  /** The acknowledged writes so far. */
  readonly acked: () => ReadonlyMap<string, AckedWrite>;
  /** Writes refused as read-only (none may be read back anywhere). */
  readonly refused?: () => ReadonlyMap<string, RefusedWrite>;
}

/** The running checks of one scenario. */
export class ShardInvariants {
  private readonly violations = new Map<string, string[]>();
  private readonly writers = new Map<string, NodeId>();
  private lastTableKey = '';
  private nextDataCheck = 0;
  private nextMigrationCheck = 0;
  /** Served writes seen, for the report. */
  served = 0;
  /** Instants checked. */
  instants = 0;
  /** Reads of acknowledged writes issued while the cluster settled, and how they ended. */
  readonly settleReads = { issued: 0, answered: 0, failed: 0, absent: 0 };

  constructor(
    private readonly sim: ShardSimulation,
    private readonly options: InvariantOptions,
  ) {}

  /** Every violation, grouped by kind, in plain words. */
  failures(): string[] {
    return [...this.violations.values()].flat();
  }

  /** A KV owner handler acknowledged a write (see `observedKv`). */
  onServed(write: ServedWrite): void {
    this.served++;
    const key = `${write.partition}@${write.epoch}`;
    const first = this.writers.get(key);
    if (first === undefined) this.writers.set(key, write.node);
    else if (first !== write.node) {
      this.violate('one-writer', `partition ${write.partition} served writes at epoch ${write.epoch} on ${first} and on ${write.node} (t=${this.sim.elapsedMs} ms, table ${write.tableVersion})`);
    }
  }

  /**
   * Read `write` through `node` now, while the cluster settles after a heal: an error is
   * an acceptable answer (retryable, or the deadline), "absent" is a wrong one.
   */
  readDuringSettle(node: ShardNode, write: AckedWrite): void {
    const at = this.sim.elapsedMs;
    this.settleReads.issued++;
    node.machine.kv.kvGet(write.key).then(
      (value) => {
        if (value !== undefined) {
          this.settleReads.answered++;
          return;
        }
        this.settleReads.absent++;
        this.violate(
          'absent-after-heal',
          `${write.key} (acknowledged via ${write.via} at ${write.ackedAt - this.startMs()} ms, partition ${write.partition}) read as absent from ${node.nodeId} at t=${at} ms, after membership agreed again`,
        );
      },
      () => this.settleReads.failed++,
    );
  }

  /** The checks of one instant. Call after every instant. */
  check(): void {
    this.instants++;
    const now = this.sim.now;
    if (this.options.plannedOnly()) {
      this.checkTableReplicas();
      if (now >= this.nextDataCheck) {
        this.nextDataCheck = now + DATA_CHECK_INTERVAL_MS;
        this.checkDataReplicas();
      }
    }
    if (now >= this.nextMigrationCheck) {
      this.nextMigrationCheck = now + MIGRATION_CHECK_INTERVAL_MS;
      this.checkMigrationAges(now);
    }
  }

  /**
   * Reads every acknowledged write back through routing from every live node, and every
   * write refused as read-only (which must read as absent); resolves with the mismatches.
   */
  async readBack(run: (done: () => boolean) => Promise<boolean>): Promise<{ reads: number; wrong: number }> {
    const nodes = liveNodes(this.sim).filter((n) => n.state === 'up');
    const writes = [...this.options.acked().values()];
    const jobs: { node: ShardNode; write: AckedWrite }[] = [];
    for (const node of nodes) for (const write of writes) jobs.push({ node, write });
    const refused = [...(this.options.refused?.().values() ?? [])];
    let next = 0;
    let settled = 0;
    let wrong = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const { node, write } = jobs[next++]!;
        try {
          const value = await node.machine.kv.kvGet(write.key);
          if (value !== write.value) {
            wrong++;
            this.violate('read-back', `${write.key} (acknowledged via ${write.via} at ${write.ackedAt - this.startMs()} ms, partition ${write.partition}) reads ${JSON.stringify(value ?? null)} from ${node.nodeId}`);
          }
        } catch (err) {
          wrong++;
          this.violate('read-back', `${write.key} could not be read from ${node.nodeId}: ${isFlotillaError(err) ? err.code : String(err)}`);
        }
        settled++;
      }
    };
    let refusedNext = 0;
    const refusedWorker = async (): Promise<void> => {
      while (refusedNext < refused.length * nodes.length) {
        const i = refusedNext++;
        const write = refused[i % refused.length]!;
        const node = nodes[Math.floor(i / refused.length)]!;
        try {
          const value = await node.machine.kv.kvGet(write.key);
          if (value !== undefined) {
            wrong++;
            this.violate('refused-survived', `${write.key} (refused FLO_READ_ONLY via ${write.via} at ${write.refusedAt - this.startMs()} ms, partition ${write.partition}) reads ${JSON.stringify(value)} from ${node.nodeId}`);
          }
        } catch (err) {
          wrong++;
          this.violate('read-back', `${write.key} (refused) could not be read from ${node.nodeId}: ${isFlotillaError(err) ? err.code : String(err)}`);
        }
        settled++;
      }
    };
    const total = jobs.length + refused.length * nodes.length;
    const workers = Array.from({ length: Math.min(READ_BACK_CONCURRENCY, jobs.length) }, () => worker());
    const refusedWorkers = Array.from({ length: Math.min(READ_BACK_CONCURRENCY, refused.length * nodes.length) }, () => refusedWorker());
    const finished = await run(() => settled === total);
    void Promise.all([...workers, ...refusedWorkers]);
    if (!finished) this.violate('read-back', `read-back did not finish: ${settled} of ${total} reads settled`);
    return { reads: total, wrong };
  }

  private startMs(): Millis {
    return this.sim.now - this.sim.elapsedMs;
  }

  /** The master's table: every partition keeps min(1 + backups, live) distinct live replicas. */
  private checkTableReplicas(): void {
    const live = liveNodes(this.sim);
    const master = live.find((n) => n.state === 'up' && n.machine.swim.isMaster());
    const table = master?.machine.sharding.tableReader();
    if (master === undefined || table === undefined || table.version === 0) return;
    const liveIds = new Set(live.map((n) => n.nodeId));
    const key = `${master.nodeId}|${table.version}|${[...liveIds].join(',')}`;
    if (key === this.lastTableKey) return;
    this.lastTableKey = key;
    const target = Math.min(1 + this.options.backupCount, liveIds.size);
    for (let p = 0; p < table.partitionCount; p++) {
      const replicas = new Set([table.owner(p), ...table.backups(p)].filter((id): id is NodeId => id !== undefined && liveIds.has(id)));
      if (replicas.size < target) {
        this.violate('replicas-table', `partition ${p} has ${replicas.size} live replicas of ${target} in ${master.nodeId}'s table ${table.version} during a planned move (t=${this.sim.elapsedMs} ms)`);
        return;
      }
    }
  }

  /** Every acknowledged write is held by at least min(1 + backups, live) live nodes. */
  private checkDataReplicas(): void {
    const live = liveNodes(this.sim);
    const target = Math.min(1 + this.options.backupCount, live.length);
    for (const write of this.options.acked().values()) {
      let holders = 0;
      for (const n of live) if (n.machine.kv.store.get(write.partition, write.key) !== undefined) holders++;
      if (holders < target) {
        const where = live.filter((n) => n.machine.kv.store.get(write.partition, write.key) !== undefined).map((n) => n.nodeId);
        this.violate('replicas-data', `${write.key} (partition ${write.partition}) is held by ${holders} live nodes of ${target} [${where.join(', ')}] during a planned move (t=${this.sim.elapsedMs} ms)`);
        return;
      }
    }
  }

  private checkMigrationAges(now: Millis): void {
    for (const n of this.sim.nodes()) {
      if (n.state === 'down') continue;
      for (const m of n.machine.sharding.migrations().inFlight) {
        if (now - m.startedAt > MIGRATION_BOUND_MS) {
          this.violate('migration-bound', `migration ${m.migrationId} (partition ${m.partition}, ${m.source} -> ${m.destination}) in flight on ${n.nodeId} for ${now - m.startedAt} ms, over ${MIGRATION_BOUND_MS} (state ${m.state})`);
        }
      }
    }
  }

  private violate(kind: string, message: string): void {
    const list = this.violations.get(kind) ?? [];
    if (list.length < VIOLATIONS_PER_KIND_MAX && !list.includes(message)) list.push(message);
    this.violations.set(kind, list);
  }
}
