/**
 * etcd mode as a node service: it keeps the partition locks in step with the partition
 * table (checked once per driver turn), answers the sharding layer's write gate from the
 * lease and the locks, and takes the runner out of placement while it is detached, so the
 * sharding layer itself never talks to etcd.
 */
import type { Millis } from '../../core/clock.js';
import { FlotillaError } from '../../core/errors.js';
import type { Sharding } from '../../sharding/sharding.js';
import type { NodeContext, NodeLogger, NodeService } from '../service.js';
import type { ResolvedEtcd } from './etcd-config.js';
import { EtcdSession, type SessionStats } from './etcd-session.js';
import { EtcdStore, type RunnerRecord } from './etcd-store.js';
import { PartitionLocks, type LockStats } from './partition-locks.js';

/** What `startNode` reports of etcd mode. */
export interface EtcdStatus {
  readonly session: SessionStats;
  readonly locks: LockStats;
  /** Requests sent to etcd since the node started. */
  readonly requests: number;
}

/** Told when the runner must leave placement (detached) or may come back. */
export type PlacementSwitch = (available: boolean) => void;

/** The etcd session, the locks and the gate of one runner. */
export class EtcdMode implements NodeService {
  readonly name = 'etcd';
  readonly messageTypes = [] as const;
  private readonly store: EtcdStore;
  private readonly session: EtcdSession;
  private readonly locks: PartitionLocks;
  private sharding: Sharding | undefined;
  private placement: PlacementSwitch | undefined;
  private tableVersion = -1;
  private ctx: NodeContext | undefined;

  constructor(
    private readonly etcd: ResolvedEtcd,
    private readonly self: { nodeId: string; address: string },
    private readonly log: NodeLogger,
  ) {
    this.store = new EtcdStore(etcd.endpoints, etcd.config);
    this.session = new EtcdSession(this.store, etcd.config, self, log);
    this.locks = new PartitionLocks(this.store, etcd.config, self.nodeId, log);
    this.session.listen({
      attached: (lease) => {
        this.locks.attached(lease);
        this.placement?.(true);
        this.ctx?.wake();
      },
      detached: () => {
        this.locks.detached();
        this.placement?.(false);
      },
    });
  }

  /** Register under a fresh lease; resolves with the runners registered earlier (the peers to join). */
  async open(): Promise<RunnerRecord[]> {
    try {
      await this.session.open();
      return await this.session.earlierRunners();
    } catch (error) {
      await this.session.close().catch(() => undefined);
      this.store.close();
      throw error;
    }
  }

  /** Wire the table to follow and the placement switch (once the node exists). */
  bind(sharding: Sharding | undefined, placement: PlacementSwitch): void {
    this.sharding = sharding;
    this.placement = placement;
    if (!this.session.attached) placement(false);
  }

  /** The sharding layer's write gate: FLO_DETACHED without a lease or without the partition's lock. */
  writeRefusal(partition: number): FlotillaError | undefined {
    if (!this.session.attached) return new FlotillaError('FLO_DETACHED', `partition ${partition}: this runner lost its etcd lease and is detached`, { partition });
    if (!this.locks.holds(partition)) return new FlotillaError('FLO_DETACHED', `partition ${partition}: this runner does not hold the partition's etcd lock yet`, { partition });
    return undefined;
  }

  status(): EtcdStatus {
    return { session: this.session.stats(), locks: this.locks.stats(), requests: this.store.requests };
  }

  start(ctx: NodeContext): void {
    this.ctx = ctx;
  }

  onMessage(): void {
    // etcd mode takes no messages from peers.
  }

  onTurn(_now: Millis): void {
    const table = this.sharding?.tableReader();
    if (table === undefined || table.version === this.tableVersion) return;
    this.tableVersion = table.version;
    this.locks.want(new Set(table.partitionsForNode(this.self.nodeId).owned));
  }

  async stop(): Promise<void> {
    this.locks.close();
    await this.session.close();
    this.store.close();
  }

  /** The settings in force (for logs). */
  get settings(): ResolvedEtcd {
    return this.etcd;
  }
}
