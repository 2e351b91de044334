/**
 * The public face of a running node: what `startNode` resolves with. Reads answer from
 * this node's view of the cluster; tag updates gossip; `leave` hands work over and says
 * goodbye, `stop` just closes.
 */
import type { Address, MembersViewData, NodeId, PartitionTableData, Tags } from '../core/model.js';
import type { Member } from '../membership/events.js';
import type { QuorumState } from '../membership/quorum-detector.js';
import type { SwimStats } from '../membership/stats.js';
import type { MigrationRecord, MigrationTotals } from '../partitions/migration-history.js';
import type { TransportStats } from '../transport/transport.js';
import type { KvService } from '../grid/kv-service.js';
import type { GridMap } from '../grid/grid-map.js';
import type { GridOrMap } from '../grid/grid-or-map.js';
import type { KvValue } from '../grid/kv-codec.js';
import type { TimerService } from '../durable/timer-service.js';
import type { WorkflowService } from '../durable/workflow-service.js';
import type { AnyEntityDefinition } from '../entities/definition.js';
import type { EntityRef } from '../entities/ref.js';
import type { SingletonRef } from '../entities/singleton-ops.js';
import type { SingletonStatus } from '../entities/singleton-service.js';
import type { ActiveEntity, ActiveEntityCount } from '../entities/runtime-stats.js';
import type { DriverStats } from './driver-stats.js';
import type { EntityServiceStats } from '../entities/entity-service.js';
import type { HealthCheck, HealthStatus, NodeHealthReport } from './health.js';
import type { NodeEvents } from './node-events.js';

/** Where a node is in its life. */
export type NodeState = 'joining' | 'running' | 'leaving' | 'stopped';

/** Migrations this node runs or takes part in (from the sharding layer). */
export interface NodeMigrations {
  readonly inFlight: readonly MigrationRecord[];
  /** Most recently finished first, bounded. */
  readonly recent: readonly MigrationRecord[];
  /** Migrations started and finished since the node started, by perspective; absent without the sharding layer. */
  readonly totals?: MigrationTotals;
}

/**
 * The key/value store's API: each call is routed to the key's owner; `watchStats` reads
 * this node's subscription relay numbers, `status` the map store's counters and holdings here.
 */
export type NodeKv = Pick<KvService, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvSize' | 'watchStats' | 'status'>;

/** Durable workflows through this node: run (or attach to) an execution, signal one, read one (or a record its activities wrote) as stored. */
export type NodeWorkflows = Pick<WorkflowService, 'run' | 'describe' | 'record' | 'signal'>;

/** Durable timers through this node: schedule and cancel on the timer's owner. */
export type NodeTimers = Pick<TimerService, 'schedule' | 'cancel'>;

/** The quorum verdict with the numbers behind it. */
export interface NodeQuorum extends QuorumState {
  /** Alive and suspect members this node sees, itself included. */
  readonly liveMembers: number;
  /**
   * The cluster size quorum is measured against, as last reported by the membership
   * machine (a quorum change), else the largest live count seen.
   */
  readonly expectedSize: number;
}

/** Everything a node counts. */
export interface NodeStats {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly state: NodeState;
  readonly health: HealthStatus;
  readonly membership: SwimStats;
  /** Undefined once the sockets are closed. */
  readonly transport: TransportStats | undefined;
  readonly driver: DriverStats;
  readonly quorum: NodeQuorum;
}

/** A running Flotilla node. */
export interface FlotillaNode {
  readonly nodeId: NodeId;
  /** The cluster address peers use (`host:port`, UDP and TCP). */
  readonly address: Address;
  readonly clusterId: string;
  /** The data directory, when one was given. */
  readonly dataDir: string | undefined;
  /** Membership events (joined, left, failed, recovered, master changed...), bounded per subscriber. */
  readonly events: NodeEvents;
  state(): NodeState;
  /** Every member this node knows (itself and tombstones included). */
  members(): Member[];
  member(nodeId: NodeId): Member | undefined;
  /** The master's members view as this node holds it. */
  membersView(): MembersViewData | undefined;
  /** The master's node id, as this node computes it. */
  master(): NodeId | undefined;
  isMaster(): boolean;
  /** True on the minority side of a split, past the grace period: refuse writes. */
  isReadOnly(): boolean;
  quorum(): NodeQuorum;
  /** Sets one of this node's tags (gossiped to every member). */
  updateTag(key: string, value: string): void;
  removeTag(key: string): void;
  /** Sets several tags at once, keeping the others. */
  updateTags(tags: Tags): void;
  /** Alive members (this node included) whose tag `key` is `value`. */
  nodesWithTag(key: string, value: string): Member[];
  /** Alive members (this node included) carrying every given tag. */
  nodesWithAllTags(tags: Tags): Member[];
  /** The newest partition table this node has (undefined without the sharding layer or before the first). */
  partitionTable(): PartitionTableData | undefined;
  migrations(): NodeMigrations;
  /** The cluster's key/value store, through this node; undefined without the sharding layer. */
  readonly kv: NodeKv | undefined;
  /**
   * The named map `name`: get/set/delete/entries/size, each routed to the key's owner
   * from this node. Throws FLO_INVALID_ARGUMENT for a bad name, FLO_NOT_FOUND when the
   * node runs without the sharding layer.
   */
  getMap<V extends KvValue = KvValue>(name: string): GridMap<V>;
  /**
   * The named OR-map `name`: several values per key, add/remove with observed-remove
   * semantics, each call routed to the key's owner. Throws like `getMap`.
   */
  getOrMap<V extends KvValue = KvValue>(name: string): GridOrMap<V>;
  /**
   * A typed ref to entity `id` of `definition`'s type: its calls reach the entity's
   * owner from any node, retried through moves and failover within `entity.callTimeoutMs`.
   * Throws FLO_ENTITY_UNKNOWN when this node hosts no entities.
   */
  entity<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D>;
  /**
   * A ref to cluster singleton `name` (see `defineSingleton`): its operations reach the
   * node leading it from any node. Throws FLO_NOT_FOUND for a name this node did not register.
   */
  singleton(name: string): SingletonRef;
  /** The singletons registered on this node, and whether it leads each. */
  singletonStatus(): SingletonStatus[];
  /** Entities active (in memory) on this node. */
  activeEntities(): ActiveEntity[];
  /** Entities active on this node, per type and partition. */
  entityCounts(): ActiveEntityCount[];
  /** Entity counters and active entities per registered type; undefined when this node hosts no entities. */
  entityStats(): EntityServiceStats | undefined;
  /** Durable workflows (`startNode({ workflows })`); undefined when the node runs none and registers no timer kinds. */
  readonly workflows: NodeWorkflows | undefined;
  /** Durable timers (`startNode({ timerKinds })`); undefined when the node runs no workflows and registers no timer kinds. */
  readonly timers: NodeTimers | undefined;
  /** Overall health and each check's verdict. */
  health(): NodeHealthReport;
  /**
   * Adds (or replaces) a named health check; returns a function that removes it. The
   * worst status reaches peers as the `health` tag within `healthCheckIntervalMs`.
   */
  registerHealthCheck(name: string, check: HealthCheck): () => void;
  stats(): NodeStats;
  /**
   * Graceful leave: services drain, the membership leave is announced (peers record this
   * node as left, not failed), then everything closes. Each phase is bounded.
   */
  leave(): Promise<void>;
  /** Immediate close: no drain, no announcement (peers will detect a failure). */
  stop(): Promise<void>;
}
