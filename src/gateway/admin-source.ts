/**
 * The view of a node that the admin API serves: health, members, partitions, migrations,
 * metric values, and optionally the key/value store and the entities it holds. The node runtime implements it; the
 * HTTP layer only reads it, so the server can be tested against a hand-written fixture.
 */
import type { KvValue } from '../grid/kv-codec.js';
import type { KvStatus, KvWatchStats } from '../grid/kv-service.js';
import type { ClientGatewayStats } from './client-gateway-stats.js';
import type { ReplicaRole } from '../protocol/messages.js';

/** Overall health as the admin API reports it. */
export type HealthStatus = 'ok' | 'degraded' | 'unhealthy' | 'joining' | 'leaving' | 'stopped';

/** Result of one user health check. */
export type CheckStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One health check's verdict. */
export interface HealthCheckResult {
  readonly status: CheckStatus;
  readonly detail?: string;
}

/** What `GET /health` reports. */
export interface HealthReport {
  /**
   * `ok` when running; `joining` / `leaving` / `stopped` follow the node's lifecycle;
   * `degraded` / `unhealthy` come from user health checks.
   */
  readonly status: HealthStatus;
  readonly nodeId: string;
  /** The node's lifecycle state, free text (e.g. `running`, `joining`). */
  readonly state: string;
  readonly checks: Readonly<Record<string, HealthCheckResult>>;
  /** Why the node is not serving (while it joins). */
  readonly reason?: string;
}

/** Liveness of a member as this node sees it. */
export type AdminMemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** One member as `GET /cluster/members` reports it. */
export interface AdminMember {
  readonly nodeId: string;
  /** Cluster address, `host:port`. */
  readonly address: string;
  readonly state: AdminMemberState;
  /** Admission order from the master; null until the master has admitted the member. */
  readonly joinVersion: number | null;
  readonly incarnation: number;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * The member's clock minus this node's, ms, measured from this node's probes; null for
   * this node itself and for members not probed yet.
   */
  readonly clockOffsetMs: number | null;
}

/** What `GET /cluster/members` reports. */
export interface MembersReport {
  /** Version of the master's members view this node holds. */
  readonly version: number;
  /** Node id of the master (the oldest active member); null when unknown. */
  readonly master: string | null;
  readonly members: readonly AdminMember[];
}

/** One partition as `GET /cluster/partitions` reports it. */
export interface AdminPartition {
  readonly partition: number;
  /** Null while the partition has no owner (before the first table). */
  readonly owner: string | null;
  /** Backups in promotion order. */
  readonly backups: readonly string[];
  readonly epoch: number;
}

/** What `GET /cluster/partitions` reports. */
export interface PartitionsReport {
  /** Version of the partition table. */
  readonly version: number;
  readonly partitionCount: number;
  readonly partitions: readonly AdminPartition[];
}

/** Where a migration stands. */
export type MigrationState = 'starting' | 'copying' | 'ready' | 'finalizing' | 'finished';

/** How a finished migration ended. */
export type MigrationOutcome = 'completed' | 'cancelled';

/** One partition replica move, in flight or recently finished. */
export interface MigrationInfo {
  readonly id: string;
  readonly partition: number;
  readonly source: string;
  readonly destination: string;
  /** Replica role the move creates on the destination. */
  readonly role: ReplicaRole;
  /**
   * The part this node plays in it: `master` (runs it), `source` or `destination`. A node
   * that plays two parts (the master is also the source) lists the migration once per part,
   * each with its own state: the parts finish at different moments.
   */
  readonly perspective: 'master' | 'source' | 'destination';
  readonly state: MigrationState;
  /** Unix time in ms. */
  readonly startedAt: number;
  /** Unix time in ms; present once finished. */
  readonly finishedAt?: number;
  /** Present once finished. */
  readonly outcome?: MigrationOutcome;
  /** Why a cancelled migration was cancelled. */
  readonly reason?: string;
}

/** What `GET /cluster/migrations` reports. */
export interface MigrationsReport {
  readonly inFlight: readonly MigrationInfo[];
  /** Most recently finished first; the runtime bounds how many it keeps. */
  readonly recent: readonly MigrationInfo[];
}

/** Messages and bytes of one message type in one direction. */
export interface TrafficCountSnapshot {
  readonly messages: number;
  readonly bytes: number;
}

/** Frame and byte counters of one transport channel, with drops by reason. */
export interface ChannelSnapshot {
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Dropped datagrams, frames or connections by reason (error code or condition). */
  readonly dropped: Readonly<Record<string, number>>;
}

/** The quorum detector's verdict. */
export type QuorumStateName = 'unknown' | 'healthy' | 'suspect' | 'partitioned';

/**
 * Values behind the Prometheus metrics, read at scrape time. Counters are monotonic over
 * the node's life; everything else is a current value.
 */
export interface MetricsSnapshot {
  readonly membership: {
    /** Members this node knows, by SWIM state. */
    readonly members: Readonly<Record<AdminMemberState, number>>;
    readonly incarnation: number;
    readonly viewVersion: number;
    /** Lifeguard local health: 0 is healthy, higher multiplies probe intervals. */
    readonly awarenessScore: number;
    readonly probes: number;
    readonly probeFailures: number;
    readonly indirectProbes: number;
    readonly suspicions: number;
    readonly refutations: number;
    readonly deathsDeclared: number;
    /** Each probed member's clock minus this node's, ms, by node id. */
    readonly clockOffsetsMs: Readonly<Record<string, number>>;
    /** Clock-skew warnings about members (at most one per member per warning interval). */
    readonly clockSkewWarnings: number;
    /** Joiners refused (as master) for a clock beyond the drift bound. */
    readonly clockSkewRefusals: number;
  };
  /** Protocol messages by message type. */
  readonly messages: {
    readonly sent: Readonly<Record<string, TrafficCountSnapshot>>;
    readonly received: Readonly<Record<string, TrafficCountSnapshot>>;
  };
  readonly transport: {
    readonly connectionsOpen: { readonly inbound: number; readonly outbound: number };
    /** By channel, e.g. `udp` and `tcp`. */
    readonly channels: Readonly<Record<string, ChannelSnapshot>>;
  };
  readonly partitions: {
    readonly tableVersion: number;
    readonly partitionCount: number;
    /** Partitions this node owns. */
    readonly owned: number;
    /** Partitions this node holds a backup of. */
    readonly backedUp: number;
  };
  readonly migrations: {
    readonly inFlight: number;
    readonly completed: number;
    readonly cancelled: number;
    /** Monotonic counts by this node's role; absent when the node keeps none. */
    readonly totals?: MigrationTotals;
  };
  readonly quorum: {
    readonly state: QuorumStateName;
    /** True while the live count is below quorum. */
    readonly minority: boolean;
    /** True while the node refuses writes: in the minority for longer than the grace period. */
    readonly readOnly: boolean;
    readonly liveMembers: number;
    readonly expectedSize: number;
  };
  /** Entity counters; absent when the node hosts no entities. */
  readonly entities?: EntityMetricsSnapshot;
  /** The subscription relay's numbers; absent when the node holds no maps. */
  readonly watch?: WatchMetricsSnapshot;
  /** The map store's counters and what it holds here; absent when the node holds no maps. */
  readonly maps?: MapMetricsSnapshot;  /** The client gateway's numbers; absent when this node serves no clients. */
  readonly clients?: ClientGatewayStats;
}

/** The map store on one node: writes and reads it served as owner, changes it took as backup, entries held. */
export type MapMetricsSnapshot = KvStatus;

/** The subscription relay on one node: the owner side (`kv.watch` long polls) and the relaying side. */
export type WatchMetricsSnapshot = KvWatchStats;

/** Values behind the entity metrics. Counters are monotonic over the node's life. */
export interface EntityMetricsSnapshot {
  /** Active (in-memory) entities by type, every registered type included. */
  readonly activeByType: Readonly<Record<string, number>>;
  readonly activations: number;
  /** Idle entities passivated (by the sweep or a planned partition move). */
  readonly passivations: number;
  /** Idle entities passivated early to stay within `activeEntitiesMax`. */
  readonly evictions: number;
  /** Calls by how they ended: `ok`, an error code, or `other`. */
  readonly callOutcomes: Readonly<Record<string, number>>;
  /** Calls refused with FLO_MAILBOX_FULL. */
  readonly mailboxRejections: number;
  /** State loads from storage. */
  readonly loads: number;
  /** State writes sent to storage. */
  readonly writes: number;
  /** Writes storage refused because a newer owner holds the partition (stale epoch). */
  readonly staleEpochWrites: number;
  /** Call durations; absent when the runtime does not measure them. */
  readonly callLatency?: LatencyHistogramSnapshot;
}

/** A latency histogram as bucket counts (not cumulative) over fixed upper bounds. */
export interface LatencyHistogramSnapshot {
  /** Upper bounds of the buckets, in ms, ascending. */
  readonly boundsMs: readonly number[];
  /** `counts[i]` counts observations within `boundsMs[i]` (and above the previous bound); one more slot for longer ones. */
  readonly counts: readonly number[];
  /** Sum of every observation, in ms. */
  readonly sumMs: number;
}

/** From where this node takes part in a migration: running it, sending or receiving the data. */
export type MigrationRole = 'master' | 'source' | 'destination';

/** How a migration ended, as the runtime records it (finer than `MigrationOutcome`). */
export type MigrationEnd = 'completed' | 'cancelled' | 'timed-out' | 'failed' | 'abandoned';

/** Migrations started and finished over the node's life, by role (and by how they ended). */
export interface MigrationTotals {
  readonly started: Readonly<Record<MigrationRole, number>>;
  readonly finished: Readonly<Record<MigrationRole, Readonly<Record<MigrationEnd, number>>>>;
}

/**
 * The cluster's key/value store as the admin KV routes use it: each call is routed to the
 * key's owner (the KV service of the sharding layer answers it). Errors are catalogued `FlotillaError`s.
 */
export interface AdminKv {
  /** Stores `value`; resolves once the owner and its backups hold it. */
  kvPut(key: string, value: KvValue): Promise<void>;
  /** The value under `key`, or undefined. */
  kvGet(key: string): Promise<KvValue | undefined>;
  /** Removes `key`; true when it was there. */
  kvDelete(key: string): Promise<boolean>;
  /** Entries in the whole store. */
  kvSize(): Promise<number>;
}

/** One entity held in memory on this node. */
export interface AdminActiveEntity {
  readonly type: string;
  readonly id: string;
  readonly partition: number;
}

/** The entities a node hosts, as the `/entities` routes read them. */
export interface AdminEntities {
  /** Entity types this node can host (registered), whether any is active or not. */
  types(): readonly string[];
  /** Entities active (in memory) on this node, in no particular order. */
  active(): readonly AdminActiveEntity[];
}

/** A node as the admin API sees it. Every method is a cheap synchronous read, except the `kv` store, which goes over the network. */
export interface AdminSource {
  readonly nodeId: string;
  /** 'ok' when running; 'joining' / 'leaving' / 'stopped' otherwise; 'degraded' / 'unhealthy' from user health checks. */
  health(): HealthReport;
  members(): MembersReport;
  partitions(): PartitionsReport;
  migrations(): MigrationsReport;
  /** Values for the Prometheus gauges/counters, read at scrape time. */
  metricsSnapshot(): MetricsSnapshot;
  /** The key/value store behind the `/kv` routes; without it those routes answer 404. */
  readonly kv?: AdminKv;
  /** The entities behind the `/entities` routes; without it those routes answer 404. */
  readonly entities?: AdminEntities;
}
