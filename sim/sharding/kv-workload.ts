/**
 * The clients of the sharding scenarios: a stream of KV writes, each to a key of its own,
 * sent every `intervalMs` of virtual time through a node picked at random among those
 * that take clients (`KvService.kvPut`, so through the real routing client). A write the
 * node acknowledges is recorded with its value: the invariants read every one of them
 * back later. A write that fails is counted by error code, and one refused as read-only
 * is recorded too: the invariants check that no node ever holds it. A write through a
 * node that crashes never settles and is neither.
 */
import type { Millis } from '../../src/core/clock.js';
import { isFlotillaError } from '../../src/core/errors.js';
import type { NodeId } from '../../src/core/model.js';
import { partitionOf } from '../../src/core/partition.js';
import type { SeededRandom } from '../../src/core/random.js';
import type { ShardNode, ShardSimulation } from './shard-simulation.js';

/** A write acknowledged to its client. */
export interface AckedWrite {
  readonly key: string;
  readonly value: string;
  readonly partition: number;
  /** The node the client sent it through. */
  readonly via: NodeId;
  readonly issuedAt: Millis;
  readonly ackedAt: Millis;
}

/** A write refused to its client with FLO_READ_ONLY: it did not run, so no node may hold it. */
export interface RefusedWrite {
  readonly key: string;
  readonly partition: number;
  readonly via: NodeId;
  readonly refusedAt: Millis;
}

/** How the clients behave. */
export interface WorkloadOptions {
  /** Virtual ms between two writes. */
  readonly intervalMs: number;
  /** The nodes that take client writes now. */
  readonly clients: () => readonly ShardNode[];
  readonly partitionCount: number;
}

/** Most writes one workload issues: a runaway scenario fails instead of growing without bound. */
export const WORKLOAD_WRITES_MAX = 100_000;

/** The scenario's clients. */
export class KvWorkload {
  /** Acknowledged writes by key, in acknowledgement order. */
  readonly acked = new Map<string, AckedWrite>();
  /** Failed writes by error code. */
  readonly failed: Record<string, number> = {};
  /** Writes refused as read-only, by key. */
  readonly refused = new Map<string, RefusedWrite>();
  private issued = 0;
  private running = false;
  private generation = 0;
  /** Writes not yet settled, by the node they went through. */
  private readonly inFlight = new Map<NodeId, number>();

  constructor(
    private readonly sim: ShardSimulation,
    private readonly random: SeededRandom,
    private readonly options: WorkloadOptions,
  ) {}

  /** Writes issued so far. */
  get issuedCount(): number {
    return this.issued;
  }

  /** Writes that failed so far. */
  get failedCount(): number {
    return Object.values(this.failed).reduce((a, b) => a + b, 0);
  }

  /** Start writing (from the next interval on). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.generation;
    this.sim.scheduler.after(this.options.intervalMs, () => this.issue(gen));
  }

  /** Stop issuing writes; those in flight still settle. */
  stop(): void {
    this.running = false;
  }

  /** Whether every write through a node that still runs has settled. */
  settled(): boolean {
    for (const [nodeId, count] of this.inFlight) if (count > 0 && this.sim.node(nodeId).state !== 'down') return false;
    return true;
  }

  private issue(gen: number): void {
    if (!this.running || gen !== this.generation) return;
    this.sim.scheduler.after(this.options.intervalMs, () => this.issue(gen));
    const clients = this.options.clients();
    if (clients.length === 0) return;
    if (this.issued >= WORKLOAD_WRITES_MAX) throw new Error(`the workload issued ${WORKLOAD_WRITES_MAX} writes`);
    const node = clients[this.random.int(clients.length)]!;
    const seq = ++this.issued;
    const key = `w${seq}`;
    const value = `v${seq}@${node.nodeId}`;
    const issuedAt = this.sim.now;
    const via = node.nodeId;
    this.inFlight.set(via, (this.inFlight.get(via) ?? 0) + 1);
    const done = (): void => {
      this.inFlight.set(via, this.inFlight.get(via)! - 1);
    };
    node.machine.kv.kvPut(key, value).then(
      () => {
        done();
        this.acked.set(key, { key, value, partition: partitionOf(key, this.options.partitionCount), via, issuedAt, ackedAt: this.sim.now });
      },
      (err: unknown) => {
        done();
        const code = isFlotillaError(err) ? err.code : 'error';
        this.failed[code] = (this.failed[code] ?? 0) + 1;
        if (code === 'FLO_READ_ONLY') this.refused.set(key, { key, partition: partitionOf(key, this.options.partitionCount), via, refusedAt: this.sim.now });
      },
    );
  }
}
