/**
 * Every message that crosses the wire between nodes, as TypeScript types. This file is
 * the contract: the codec (`codec.ts`) validates and encodes exactly these shapes, and
 * the state machines produce and consume them. Each message carries its `type` tag.
 */
import type {
  Address,
  MembersViewData,
  NodeId,
  NodeInfo,
  PartitionTableData,
  SwimState,
  Tags,
} from '../core/model.js';
import type { PartitionTableUpdate, MergedTable, FetchPartitionTable, MigrateStart, MigrateData, MigrateReady, MigrateFinalize, MigrateCancel, MigrateQuery, MigrateStatus } from './messages-partitions.js';

export type { PartitionTableUpdate, MergedTable, FetchPartitionTable, ReplicaRole, MigrateStart, MigrateData, MigrateReady, MigrateFinalize, MigrateCancel, MigrateQuery, MigrateStatus, MigrationVerdict } from './messages-partitions.js';

/**
 * Version of this wire protocol; a JoinRequest with another version is rejected.
 * 2: JoinRequest and Ack carry the sender's wall clock (`sentAt`), for clock offsets.
 */
export const PROTOCOL_VERSION = 2;

// ---------------------------------------------------------------------------------------
// Membership: the master's decisions
// ---------------------------------------------------------------------------------------

/** A node asks the master (through any member) to be admitted. */
export interface JoinRequest {
  readonly type: 'JoinRequest';
  readonly node: NodeInfo;
  readonly clusterId: string;
  readonly protocolVersion: number;
  /** Proof of the cluster secret (e.g. an HMAC over the request; never the secret itself). */
  readonly authToken: string;
  /**
   * The joiner's wall clock when it sent the request, ms since the epoch: the master
   * refuses a joiner whose clock is off from its own beyond the HLC drift bound.
   */
  readonly sentAt: number;
}

/** The master's answer: admitted with the current view and table, or rejected with why. */
export interface JoinResponse {
  readonly type: 'JoinResponse';
  readonly accepted: boolean;
  /** Present when accepted. */
  readonly view?: MembersViewData;
  /** Present when accepted and a table exists. */
  readonly table?: PartitionTableData;
  /** Present when rejected: a catalogued error code and a human-readable reason. */
  readonly rejectCode?: string;
  readonly reason?: string;
}

/** The master publishes a new members view. */
export interface MembersUpdate {
  readonly type: 'MembersUpdate';
  readonly view: MembersViewData;
}

/** A node announces it is leaving (to the master), optionally saying why. */
export interface LeaveRequest {
  readonly type: 'LeaveRequest';
  readonly nodeId: NodeId;
  readonly reason?: string;
}

/** Periodic member -> master heartbeat, carrying the members this node suspects. */
export interface Heartbeat {
  readonly type: 'Heartbeat';
  readonly from: NodeId;
  readonly viewVersion: number;
  readonly suspected: readonly NodeId[];
}

/** A member tells the master it has not heard from `suspect`. */
export interface HeartbeatComplaint {
  readonly type: 'HeartbeatComplaint';
  readonly from: NodeId;
  readonly suspect: NodeId;
  readonly viewVersion: number;
}

/** A node tells `target` it considers it outside the cluster (e.g. removed from the view). */
export interface ExplicitSuspicion {
  readonly type: 'ExplicitSuspicion';
  readonly from: NodeId;
  readonly target: NodeId;
  readonly viewVersion: number;
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------
// Split brain
// ---------------------------------------------------------------------------------------

/** What a master says about its cluster when probing for another one. */
export interface ClusterSummary {
  readonly clusterId: string;
  readonly masterId: NodeId;
  readonly masterAddress: Address;
  /** The master's own join version, used to break ties between equal-size clusters. */
  readonly masterJoinVersion: number;
  readonly memberCount: number;
  readonly viewVersion: number;
  /**
   * The members counted in `memberCount`. A master that finds some of its own members
   * here learns they follow this master instead, and stops counting them. Absent from
   * senders that predate it.
   */
  readonly members?: readonly NodeId[];
}

export interface SplitBrainProbe {
  readonly type: 'SplitBrainProbe';
  readonly from: NodeId;
  readonly summary: ClusterSummary;
}

export interface SplitBrainProbeResponse {
  readonly type: 'SplitBrainProbeResponse';
  readonly from: NodeId;
  readonly summary: ClusterSummary;
}

/** The smaller cluster's master tells its members to rejoin the larger one. */
export interface MergeRequest {
  readonly type: 'MergeRequest';
  readonly from: NodeId;
  readonly target: ClusterSummary;
  /** Addresses to join through. */
  readonly seeds: readonly Address[];
}

// ---------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------

/**
 * An operation sent on to the partition owner. `op` is the original encoded operation,
 * carried as it is; forwarding an OpForward again raises `hops` instead of wrapping it.
 */
export interface OpForward {
  readonly type: 'OpForward';
  readonly opId: string;
  readonly partition: number;
  readonly origin: NodeId;
  readonly hops: number;
  readonly op: Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Partition-addressed service operations
// ---------------------------------------------------------------------------------------

/**
 * An operation for the owner of `partition`, addressed to a hosted `service` (e.g. "kv").
 * Sent as a request; the answer is a `ServiceResponse` with the same `opId`. A node that
 * does not own the partition answers NOT_OWNER, or, when `forward` is set, sends it on to
 * the owner it knows wrapped once in an `OpForward`.
 */
export interface ServiceRequest {
  readonly type: 'ServiceRequest';
  readonly service: string;
  readonly partition: number;
  readonly opId: string;
  /** Whether a node that is not the owner may forward it instead of answering NOT_OWNER. */
  readonly forward: boolean;
  /** Opaque to the protocol; the service encodes it. */
  readonly payload: Uint8Array;
}

/**
 * The answer to a `ServiceRequest` (or an `OpForward` of one). `ok` carries the service's
 * `payload`; a failure carries a catalogued `errorCode` and, for NOT_OWNER, the owner this
 * node knows and its table version so the caller can retry there.
 */
export interface ServiceResponse {
  readonly type: 'ServiceResponse';
  readonly opId: string;
  readonly ok: boolean;
  readonly payload?: Uint8Array;
  /** Present exactly when `ok` is false. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly owner?: NodeId;
  readonly ownerAddress?: Address;
  readonly tableVersion?: number;
}

// ---------------------------------------------------------------------------------------
// SWIM
// ---------------------------------------------------------------------------------------

/** Gossip: `node` is suspected at `incarnation` by `from`. */
export interface Suspect {
  readonly type: 'Suspect';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly from: NodeId;
}

/** Gossip: `node` is alive at `incarnation`, with its address and tags at that incarnation. */
export interface Alive {
  readonly type: 'Alive';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly address: Address;
  readonly tags: Tags;
}

/** Gossip: `node` is dead at `incarnation` (declared by `from`); `left` when it left on purpose. */
export interface Dead {
  readonly type: 'Dead';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly from: NodeId;
  readonly left: boolean;
}

/** A membership update carried piggyback on probes, acks and gossip. */
export type GossipUpdate = Suspect | Alive | Dead;

/** Direct probe. `target` lets a receiver detect a probe meant for a previous owner of its address. */
export interface Ping {
  readonly type: 'Ping';
  readonly seqNo: number;
  readonly from: NodeId;
  readonly target: NodeId;
  readonly updates: readonly GossipUpdate[];
}

/** Ask `from`'s helper to probe `target` at `targetAddress` and relay the result. */
export interface PingReq {
  readonly type: 'PingReq';
  readonly seqNo: number;
  readonly from: NodeId;
  readonly target: NodeId;
  readonly targetAddress: Address;
  /** Whether the helper should send a Nack when its own probe times out. */
  readonly wantNack: boolean;
  readonly updates: readonly GossipUpdate[];
}

/** Answer to a Ping (or relayed by a helper for a PingReq). */
export interface Ack {
  readonly type: 'Ack';
  readonly seqNo: number;
  readonly from: NodeId;
  readonly updates: readonly GossipUpdate[];
  /**
   * The answering node's wall clock when it sent the Ack, ms since the epoch: with the
   * probe's round trip, the prober's estimate of that node's clock offset. Absent on an
   * Ack a helper relays, whose round trip says nothing about one link.
   */
  readonly sentAt?: number;
}

/** An indirect prober could not reach the target either: evidence the problem may be ours. */
export interface Nack {
  readonly type: 'Nack';
  readonly seqNo: number;
  readonly from: NodeId;
}

/** Periodic dissemination to random members. */
export interface Gossip {
  readonly type: 'Gossip';
  readonly from: NodeId;
  readonly updates: readonly GossipUpdate[];
}

/** One member's full state in a push-pull exchange. */
export interface PushPullEntry {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly incarnation: number;
  readonly state: SwimState;
  readonly tags: Tags;
}

/** Anti-entropy: full state exchange over TCP; `join` marks a joiner's first exchange. */
export interface PushPull {
  readonly type: 'PushPull';
  readonly from: NodeId;
  readonly join: boolean;
  /** True on the reply half of the exchange. */
  readonly reply: boolean;
  readonly clusterId: string;
  readonly states: readonly PushPullEntry[];
}

// ---------------------------------------------------------------------------------------

/** Every message the cluster protocol carries. */
export type Message =
  | JoinRequest
  | JoinResponse
  | MembersUpdate
  | LeaveRequest
  | Heartbeat
  | HeartbeatComplaint
  | ExplicitSuspicion
  | PartitionTableUpdate
  | FetchPartitionTable
  | MergedTable
  | MigrateStart
  | MigrateData
  | MigrateReady
  | MigrateFinalize
  | MigrateCancel
  | MigrateQuery
  | MigrateStatus
  | SplitBrainProbe
  | SplitBrainProbeResponse
  | MergeRequest
  | OpForward
  | ServiceRequest
  | ServiceResponse
  | Ping
  | PingReq
  | Ack
  | Nack
  | Gossip
  | Suspect
  | Alive
  | Dead
  | PushPull;

/** The `type` tag of any message. */
export type MessageType = Message['type'];

/** Narrow `Message` by its tag. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
