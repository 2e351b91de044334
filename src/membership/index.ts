/**
 * The membership layer's public face: the SWIM + Lifeguard machine and what it emits,
 * its configuration, the pure protocol math it is built from (suspicion timeouts, local
 * health, retransmit limits, join backoff, the master rule), and the failure detectors,
 * quorum detector and event broadcaster the node layer wires around it.
 */
export { SwimMachine } from './swim.js';
export type { SwimMachineOptions, SwimPhase } from './swim.js';
export {
  DEFAULT_SWIM_CONFIG,
  GOSSIP_MESSAGE_BYTES_LIMIT,
  GOSSIP_MESSAGE_BYTES_MIN,
  PUSH_PULL_SCALE_THRESHOLD,
  pushPullIntervalFor,
  resolveSwimConfig,
} from './config.js';
export type { SwimConfig } from './config.js';
export type {
  HealthCheckFailed,
  HealthCheckPassed,
  HealthCheckSource,
  JoinCompleted,
  JoinFailed,
  MasterChanged,
  Member,
  MembershipEvent,
  MembershipEventType,
  MergeCompleted,
  MergeStarted,
  NodeFailed,
  NodeJoined,
  NodeLeft,
  NodeRecovered,
  NodeSuspected,
  NodeTagsUpdated,
  PartitionDetected,
  ViewChanged,
} from './events.js';
export { SEED_STILL_JOINING } from './mastership.js';
export type { AuthTokenMaker, JoinVerdict, JoinVerifier } from './admission.js';
export type { SwimCounters, SwimStats, TrafficCount } from './stats.js';
export { estimateMessageSize, estimateUpdateSize } from './size.js';
export type { MessageSizer, UpdateSizer } from './size.js';
export { encodedTagsSize, tagsEqual, tagsMatch, validateTags } from './tags.js';
export { GossipPriority, GossipQueue, retransmitLimit } from './gossip-queue.js';
export type { QueuedUpdate, TakeLimits } from './gossip-queue.js';
export { Suspicion, expectedConfirmations, suspicionMinTimeoutMs, suspicionTimeoutMs } from './suspicion.js';
export { Awareness, failedProbeAwarenessDelta } from './awareness.js';
export { joinBackoffMs } from './bootstrap.js';
export { compareAge, compareViews, oldestRecord } from './master-view.js';
export { compareClusters, shouldMerge } from './split-brain-decision.js';
export type { FailureDetector } from './failure-detector.js';
export { PHI_ACCRUAL_DEFAULTS, PHI_MAX, PHI_SAMPLES_MAX, PhiAccrualFailureDetector, phi } from './phi-accrual.js';
export type { PhiAccrualConfig } from './phi-accrual.js';
export { DeadlineFailureDetector } from './deadline-failure-detector.js';
export { QUORUM_DEFAULTS, QuorumDetector, hasQuorum } from './quorum-detector.js';
export type { QuorumDetectorConfig, QuorumKind, QuorumState, QuorumUpdateOptions } from './quorum-detector.js';
export { DEFAULT_EVENT_BUFFER_SIZE, EVENT_BROADCASTER_DEFAULTS, EVENT_BUFFER_SIZE_MAX, EventBroadcaster } from './event-broadcaster.js';
export type { EventBroadcasterConfig, EventSubscription, EventsDropped, SubscribeOptions } from './event-broadcaster.js';
export { MEMBERSHIP_MESSAGE_TYPES } from './swim-context.js';
