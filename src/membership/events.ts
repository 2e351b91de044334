/**
 * What the membership machine tells its owner: members joining, leaving, failing and
 * coming back, tag changes, quorum loss, master changes and new members views. The node
 * layer drains them with `pollEvent()` and fans them out through an EventBroadcaster.
 */
import type { Millis } from '../core/clock.js';
import type { FlotillaError } from '../core/errors.js';
import type { Address, MembersViewData, NodeId, SwimState, Tags } from '../core/model.js';
import type { ClusterSummary } from '../protocol/messages.js';

/** A member as this node sees it (a snapshot; never mutated afterwards). */
export interface Member {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly state: SwimState;
  readonly incarnation: number;
  readonly tags: Tags;
  /** When this node last saw the member change state. */
  readonly stateChangedAt: Millis;
  /**
   * The member's clock minus this node's, ms, from this node's probes of it; absent for
   * this node itself and for members not probed yet.
   */
  readonly clockOffsetMs?: number;
}

/** A node became known alive for the first time (or again after leaving). */
export interface NodeJoined {
  readonly type: 'NodeJoined';
  readonly at: Millis;
  readonly member: Member;
}

/** A node left gracefully. */
export interface NodeLeft {
  readonly type: 'NodeLeft';
  readonly at: Millis;
  readonly member: Member;
}

/** A node was declared dead (failed, not left). */
export interface NodeFailed {
  readonly type: 'NodeFailed';
  readonly at: Millis;
  readonly member: Member;
}

/** A node became suspect (informational: it may still refute). */
export interface NodeSuspected {
  readonly type: 'NodeSuspected';
  readonly at: Millis;
  readonly member: Member;
  readonly accuser: NodeId;
}

/** A suspect or dead node is alive again (it refuted, or restarted with a new life). */
export interface NodeRecovered {
  readonly type: 'NodeRecovered';
  readonly at: Millis;
  readonly member: Member;
  readonly previousState: SwimState;
}

/** A node's tags changed. */
export interface NodeTagsUpdated {
  readonly type: 'NodeTagsUpdated';
  readonly at: Millis;
  readonly member: Member;
  readonly previousTags: Tags;
}

/** Quorum lost (`partitioned: true`, this node turned read-only) or restored. */
export interface PartitionDetected {
  readonly type: 'PartitionDetected';
  readonly at: Millis;
  readonly partitioned: boolean;
  readonly liveCount: number;
  readonly expectedSize: number;
}

/** The master this node computes from its view changed. */
export interface MasterChanged {
  readonly type: 'MasterChanged';
  readonly at: Millis;
  readonly previous: NodeId | undefined;
  readonly master: NodeId | undefined;
}

/** A newer members view was adopted (published by this node or received). */
export interface ViewChanged {
  readonly type: 'ViewChanged';
  readonly at: Millis;
  readonly view: MembersViewData;
}

/** This node was admitted (or formed a new cluster). */
export interface JoinCompleted {
  readonly type: 'JoinCompleted';
  readonly at: Millis;
  /** True when no seed answered and this node started a new cluster. */
  readonly formed: boolean;
}

/** Joining failed for good: no seed reachable, or the cluster refused. */
export interface JoinFailed {
  readonly type: 'JoinFailed';
  readonly at: Millis;
  readonly error: FlotillaError;
}

/**
 * This node leaves its cluster to join another one after a healed split (its master
 * decided so, or this node is that master): `local` is the cluster it leaves, `target`
 * the one it joins. The node layer hands its partition data over.
 */
export interface MergeStarted {
  readonly type: 'MergeStarted';
  readonly at: Millis;
  readonly local: ClusterSummary;
  readonly target: ClusterSummary;
}

/**
 * A merge ended: admitted by the winning cluster (`formed` false), or not admitted in
 * time and alone in a new cluster (`formed` true), which a later probe round merges.
 */
export interface MergeCompleted {
  readonly type: 'MergeCompleted';
  readonly at: Millis;
  readonly formed: boolean;
  readonly master: NodeId | undefined;
}

/** What a health check judged: heartbeats to the master (phi), or the node's own checks. */
export type HealthCheckSource = 'heartbeats' | 'check';

/**
 * A member's health check failed: on the master, its heartbeats' phi crossed
 * `heartbeatPhiThreshold` (the master then suspects it); on the member itself, its own
 * check reported failure (it then reports itself suspect until healthy).
 */
export interface HealthCheckFailed {
  readonly type: 'HealthCheckFailed';
  readonly at: Millis;
  readonly member: Member;
  readonly source: HealthCheckSource;
  /** The check's explanation, or the phi reached. */
  readonly detail: string;
}

/** A member whose health check had failed is healthy again (heartbeats resumed, or its check passed). */
export interface HealthCheckPassed {
  readonly type: 'HealthCheckPassed';
  readonly at: Millis;
  readonly member: Member;
  readonly source: HealthCheckSource;
}

/**
 * A member's clock is off from this node's beyond `clockOffsetWarnMs` (at most once per
 * member per `clockSkewWarnIntervalMs`). `offsetMs` is the member's clock minus this
 * node's, exact within half of `rttMs`; `beyondBound` when past `clockOffsetMaxMs`, the
 * HLC drift bound, where replicas refuse the faster clock's writes.
 */
export interface ClockSkewDetected {
  readonly type: 'ClockSkewDetected';
  readonly at: Millis;
  readonly nodeId: NodeId;
  readonly address: Address | undefined;
  readonly offsetMs: number;
  readonly rttMs: number;
  readonly boundMs: number;
  readonly beyondBound: boolean;
}

/** Every event the membership machine emits. */
export type MembershipEvent =
  | NodeJoined
  | NodeLeft
  | NodeFailed
  | NodeSuspected
  | NodeRecovered
  | NodeTagsUpdated
  | PartitionDetected
  | MasterChanged
  | ViewChanged
  | JoinCompleted
  | JoinFailed
  | MergeStarted
  | MergeCompleted
  | HealthCheckFailed
  | HealthCheckPassed
  | ClockSkewDetected;

/** The `type` tag of any membership event. */
export type MembershipEventType = MembershipEvent['type'];
