/**
 * Configuration of the SWIM + Lifeguard membership machine: one typed defaults object,
 * every field with its meaning, unit, default and trade-off. The rules every value and
 * combination must meet are checked once at construction (`config-rules.ts`).
 */
import { HLC_DEFAULTS } from '../core/hlc.js';
import { GOSSIP_MESSAGE_BYTES_MAX } from '../protocol/limits.js';

export { resolveSwimConfig } from './config-rules.js';

/** Smallest per-message gossip byte budget that still fits one typical update. */
export const GOSSIP_MESSAGE_BYTES_MIN = 256;

/** Largest per-message gossip byte budget accepted: the wire codec's hard cap on one SWIM message. */
export const GOSSIP_MESSAGE_BYTES_LIMIT = GOSSIP_MESSAGE_BYTES_MAX;

/** Largest `roundTripSamplesMax` accepted (per-member memory is 8 bytes per sample). */
export const ROUND_TRIP_SAMPLES_LIMIT = 1_024;

/** Largest `probeTimeoutPhi` and `heartbeatPhiThreshold` accepted (phi is capped at 1000; past 100 is no tuning). */
export const PROBE_TIMEOUT_PHI_MAX = 100;

/** Cluster size above which the push-pull interval grows (memberlist's pushPullScaleThreshold). */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/** Tunables of the membership machine. All durations are in milliseconds. */
export interface SwimConfig {
  /**
   * Protocol period: one member is probed per period. Default 1000. Shorter detects
   * failures sooner at the cost of more probe traffic (N probes per period cluster-wide).
   */
  readonly probeIntervalMs: number;
  /**
   * How long a direct probe waits for its Ack before asking helpers (PingReq). Default 500.
   * Must be below `probeIntervalMs`, which leaves the rest of the period for indirect
   * probes; helpers Nack after 80 % of it, so keep it under ~55 % of the interval for
   * Nacks to arrive in time. Too short turns ordinary latency spikes into indirect probes.
   */
  readonly probeTimeoutMs: number;
  /**
   * Lower bound of the adaptive probe timeout. Each member's timeout is the round trip at
   * which phi over its own observed round trips (Akka's phi accrual, see `probeTimeoutPhi`)
   * reaches the threshold, clamped to [this, `probeTimeoutMaxMs`] (`probeTimeoutMs` until
   * a first round trip is seen; the bounds widen to include `probeTimeoutMs`, so a probe
   * timeout configured below this floor lowers it, and above the ceiling raises it). The probe's verdict comes at the timeout plus the
   * indirect window (`probeIntervalMs - probeTimeoutMs`), so a member on a steady link is
   * suspected sooner than at the end of the period. Default 200. Lower detects crashes of
   * steady members sooner but sends indirect probes on smaller hiccups (an event-loop
   * stall of the target); equal to `probeTimeoutMs` never shortens a timeout.
   */
  readonly probeTimeoutMinMs: number;
  /**
   * Upper bound of the adaptive probe timeout (see `probeTimeoutMinMs`). Default 4000.
   * Higher spares members on slow, jittery links from false suspicions, and a crash of
   * such a member is noticed up to this much later; their probes overlap the next ones
   * instead of delaying them. `probeTimeoutMinMs = probeTimeoutMs = probeTimeoutMaxMs`
   * gives fixed timeouts. Must not be below `probeTimeoutMinMs`.
   */
  readonly probeTimeoutMaxMs: number;
  /**
   * Phi at which a member's adaptive probe timeout is set: the timeout is
   * mean + y * stdDeviation of its round trips, where y makes phi equal this (8 -> y ~ 5.2,
   * 1 chance in 10^8 under a normal fit). Default 8. Lower times out sooner on jitter.
   */
  readonly probeTimeoutPhi: number;
  /** Round trips kept per member for its adaptive timeout (8 bytes each). Default 64. */
  readonly roundTripSamplesMax: number;
  /**
   * Round trips observed before a member's history is trusted as it is; until then its
   * standard deviation counts as at least its mean (a wider, safer timeout). With no
   * round trip yet, the timeout is `probeTimeoutMs`. Default 5; at most `roundTripSamplesMax`.
   */
  readonly roundTripSamplesMin: number;
  /**
   * Floor on the standard deviation of round trips, ms, so a perfectly steady link does
   * not make the smallest delay look fatal. Default 10.
   */
  readonly roundTripStdDeviationMinMs: number;
  /**
   * K: members asked to probe indirectly after a direct probe times out. Default 3. More
   * helpers make a false suspicion from one lossy path less likely, at K messages each.
   */
  readonly indirectChecks: number;
  /**
   * Also emit a Ping on the 'tcp' channel when the direct UDP probe times out, so a
   * network that drops UDP is told apart from a dead node (the transport carries it and
   * routes the Ack back). Default true.
   */
  readonly tcpFallbackProbe: boolean;
  /**
   * Lifeguard suspicion: the minimum suspicion timeout is
   * `suspicionMult * max(1, log10(N)) * probeIntervalMs`. Default 4. Larger gives a
   * suspect more time to refute; smaller declares deaths sooner.
   */
  readonly suspicionMult: number;
  /**
   * The suspicion timeout starts at `suspicionMaxTimeoutMult * min` and shrinks toward
   * min as independent confirmations arrive. Default 6. Larger makes a lone (possibly
   * unhealthy) accuser slow to kill anybody.
   */
  readonly suspicionMaxTimeoutMult: number;
  /**
   * k: independent confirmations (Suspects from distinct nodes) that bring the timeout
   * down to min; capped by N - 2. Default 3.
   */
  readonly suspicionConfirmationsExpected: number;
  /**
   * Lifeguard local health: highest awareness score. The probe interval and timeout are
   * multiplied by (score + 1), so the default 7 stretches them up to 8x (memberlist's
   * awareness multiplier). Higher lets an overloaded node back off more, and detect later.
   */
  readonly awarenessScoreMax: number;
  /**
   * Each gossip update is sent at most `retransmitMult * ceil(log10(N + 1))` times.
   * Default 4. Higher spreads more reliably under loss at the cost of bandwidth.
   */
  readonly retransmitMult: number;
  /** Period of the gossip round (only while updates are queued). Default 200. */
  readonly gossipIntervalMs: number;
  /** Random members gossiped to per round. Default 3. */
  readonly gossipNodes: number;
  /**
   * Dead members still receive gossip this long after dying, so a node wrongly declared
   * dead learns it and refutes. Default 30000.
   */
  readonly gossipToTheDeadMs: number;
  /**
   * A member that gossips a Suspect or Dead about this node at an incarnation this node
   * already refuted missed the refutation: it is answered directly with this node's
   * current Alive, at most this often per sender. Default 500. Shorter heals such stale
   * beliefs sooner under loss; longer spends fewer replies on a peer that keeps repeating
   * an old rumour. (A Ping carrying the rumour is always answered on its Ack.)
   */
  readonly rebuttalIntervalMs: number;
  /** Most updates carried by one message. Default 20. */
  readonly gossipUpdatesPerMessageMax: number;
  /**
   * Most bytes (encoded) of one message carrying gossip. Default 4096. The UDP driver
   * asks for less through `setDatagramBudget` (about 1400) to avoid IP fragmentation.
   */
  readonly gossipMessageBytesMax: number;
  /** Most updates the gossip queue holds; overflow drops the least valuable. Default 4096. */
  readonly gossipQueueMax: number;
  /**
   * Anti-entropy: full state exchange with one random member this often, scaled up past
   * 32 members like memberlist. Default 30000. Shorter heals missed updates faster, but
   * each exchange carries the whole member list.
   */
  readonly pushPullIntervalMs: number;
  /** Most member entries sent or merged from one push-pull. Default 8192. */
  readonly pushPullStatesMax: number;
  /**
   * Dead and left members are kept as tombstones this long, so a late rumour at an old
   * incarnation cannot revive them; then they are forgotten. Default 60000.
   */
  readonly tombstoneMs: number;
  /**
   * Every this often, push-pull with one random failed (dead, not left) member, so two
   * sides of a healed network split find each other again. Default 10000.
   */
  readonly reconnectIntervalMs: number;
  /** Failed members are tried for reconnection this long after they failed. Default 21600000 (6 h). */
  readonly reconnectTimeoutMs: number;
  /** Failed members remembered for reconnection; the oldest is forgotten first. Default 256. */
  readonly failedMembersMax: number;
  /** A graceful leave waits at most this long for its announcement to go out. Default 5000. */
  readonly leaveTimeoutMs: number;
  /** A leave is done once the announcement reached min(N - 1, this many) members. Default 3. */
  readonly leaveFanout: number;
  /** Join attempts (each tries every seed) before giving up. Default 10. */
  readonly joinAttemptsMax: number;
  /** Backoff after the first failed join attempt; doubles each attempt. Default 100. */
  readonly joinBackoffInitialMs: number;
  /** Cap of the join backoff. Default 10000. */
  readonly joinBackoffMaxMs: number;
  /** Relative jitter of the join backoff, drawn uniformly in ±jitter. Default 0.25. */
  readonly joinBackoffJitter: number;
  /**
   * A node listed in its own seeds forms a new cluster after this many attempts when no
   * seed admitted it and it has the lowest address among the seeds that answered
   * "still joining". Default 3 (about 700 ms). Lower starts clusters faster; higher gives
   * a slow existing cluster more time before a second one forms.
   */
  readonly seedFormAfterAttempts: number;
  /** Members send a Heartbeat (with the nodes they suspect) to the master this often. Default 5000. */
  readonly heartbeatIntervalMs: number;
  /**
   * The master runs a phi accrual detector over each member's heartbeats (expected every
   * `heartbeatIntervalMs`, deviation floored at a quarter of it); when phi reaches this,
   * the member's health check fails (`HealthCheckFailed`) and the master suspects it, so
   * Lifeguard lets it refute or declares it dead. Default 8 (a silence of about 2.3
   * intervals at a steady rhythm). Lower reacts sooner to a member that still answers
   * probes but cannot reach the master; higher spares jittery links.
   */
  readonly heartbeatPhiThreshold: number;
  /** Most suspected node ids carried by one Heartbeat. Default 64. */
  readonly heartbeatSuspectedMax: number;
  /** Complaints older than this are forgotten by the master. Default 15000. */
  readonly complaintWindowMs: number;
  /**
   * Distinct complainers (within the window) that make the master suspect a node it
   * still sees alive; capped by N - 2, at least 1. Default 2. Below it, the master only
   * probes the node next.
   */
  readonly complaintThreshold: number;
  /** Nodes tracked for complaints. Default 1024. */
  readonly complaintsTrackedMax: number;
  /**
   * The master publishes a new members view at most this often, coalescing bursts (a
   * mass join) into one version. Default 100.
   */
  readonly viewPublishIntervalMinMs: number;
  /** An admitted joiner that is not seen alive within this time loses its admission. Default 30000. */
  readonly admissionTimeoutMs: number;
  /** Admissions awaiting the joiner's first push-pull. Default 1024. */
  readonly admissionsPendingMax: number;
  /** The master tells an unknown talker to rejoin at most this often per node. Default 5000. */
  readonly explicitSuspicionIntervalMs: number;
  /** A member removed from the view asks to rejoin at most this often. Default 2000. */
  readonly rejoinIntervalMinMs: number;
  /**
   * Quorum: a node that sees no more than half of the expected members alive (suspects
   * do not count) for this long reports 'partitioned' and turns read-only: every write
   * of every partitioned service then fails with FLO_READ_ONLY. Unit: ms. Default 1000,
   * one probe interval: the minority of a split refuses writes a few probe periods after
   * the link goes down, before the majority's failure detector hands its partitions to
   * new owners. Longer rides out brief mass suspicions (a long local pause) at the cost
   * of a longer window in which both sides accept writes.
   */
  readonly quorumGraceMs: number;
  /**
   * The expected cluster size is the largest number of members recently seen; after the
   * count stays lower this long, the lower count becomes the expectation. Graceful leaves
   * lower it at once. Default 300000. Longer keeps a long-lived minority read-only;
   * shorter lets a cluster that lost members for good recover writes sooner.
   */
  readonly quorumExpectedSizeMemoryMs: number;
  /**
   * Most members known at once (tombstones included); claims about further new nodes are
   * refused and counted, so a flood of forged Alives cannot exhaust memory. Default 16384.
   */
  readonly membersMax: number;
  /** Outgoing messages held until drained; overflow drops the oldest. Default 8192. */
  readonly transmitQueueMax: number;
  /** Events held until drained; overflow drops the oldest. Default 4096. */
  readonly eventQueueMax: number;
  /** Indirect probes this node runs for others at once; overflow drops the oldest. Default 1024. */
  readonly relaysPendingMax: number;
  /**
   * Split brain: the master sends a SplitBrainProbe this often to addresses it knows
   * outside its view (seeds, failed members, live strangers). Default 10000. Shorter finds
   * a healed split sooner (a foreign master telling this master to rejoin triggers a probe
   * at once anyway); each round costs at most `splitBrainProbeTargetsMax` TCP messages.
   */
  readonly splitBrainProbeIntervalMs: number;
  /** Most addresses one split-brain probe round reaches. Default 8. */
  readonly splitBrainProbeTargetsMax: number;
  /**
   * The master of a cluster that merges into another tells its members first and merges
   * itself this long after, so they do not see their master vanish and elect a new one
   * meanwhile. Default 500.
   */
  readonly mergeMasterDelayMs: number;
  /** A merging node sends its JoinRequest to the winner's addresses again this often. Default 1000. */
  readonly mergeJoinRetryMs: number;
  /**
   * A merging node not admitted by the winner within this time forms a cluster of its
   * own, which a later probe round merges again. Default 30000. Shorter recovers sooner
   * from a winner that dissolved meanwhile; longer rides out a slow winner.
   */
  readonly mergeJoinTimeoutMs: number;
  /**
   * A member whose clock is off from this node's by more than this (measured from probe
   * round trips) is warned about, once per `clockSkewWarnIntervalMs`. Default 1000.
   * Last-writer-wins orders writes by hybrid logical clocks: a write on a clock this far
   * ahead beats later writes elsewhere for this long. Lower is noisier on busy links (the
   * estimate is exact within half a round trip).
   */
  readonly clockOffsetWarnMs: number;
  /**
   * The master refuses a joiner whose clock is off from its own by more than this, with
   * FLO_CLOCK_SKEW; a member found beyond it later is warned about at `error` level.
   * Default 60000, the HLC drift bound (`HLC_DEFAULTS.driftMaxMs`): past it, replicas
   * refuse the node's writes as too far in the future. Must be at least `clockOffsetWarnMs`.
   */
  readonly clockOffsetMaxMs: number;
  /** One clock-skew warning per member at most this often. Default 60000. */
  readonly clockSkewWarnIntervalMs: number;
}

/** The defaults, tuned like memberlist's LAN profile. */
export const DEFAULT_SWIM_CONFIG: SwimConfig = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  probeTimeoutMinMs: 200,
  probeTimeoutMaxMs: 4_000,
  probeTimeoutPhi: 8,
  roundTripSamplesMax: 64,
  roundTripSamplesMin: 5,
  roundTripStdDeviationMinMs: 10,
  indirectChecks: 3,
  tcpFallbackProbe: true,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  suspicionConfirmationsExpected: 3,
  awarenessScoreMax: 7,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  rebuttalIntervalMs: 500,
  gossipUpdatesPerMessageMax: 20,
  gossipMessageBytesMax: 4096,
  gossipQueueMax: 4096,
  pushPullIntervalMs: 30_000,
  pushPullStatesMax: 8192,
  tombstoneMs: 60_000,
  reconnectIntervalMs: 10_000,
  reconnectTimeoutMs: 21_600_000,
  failedMembersMax: 256,
  leaveTimeoutMs: 5_000,
  leaveFanout: 3,
  joinAttemptsMax: 10,
  joinBackoffInitialMs: 100,
  joinBackoffMaxMs: 10_000,
  joinBackoffJitter: 0.25,
  seedFormAfterAttempts: 3,
  heartbeatIntervalMs: 5_000,
  heartbeatSuspectedMax: 64,
  heartbeatPhiThreshold: 8,
  complaintWindowMs: 15_000,
  complaintThreshold: 2,
  complaintsTrackedMax: 1024,
  viewPublishIntervalMinMs: 100,
  admissionTimeoutMs: 30_000,
  admissionsPendingMax: 1024,
  explicitSuspicionIntervalMs: 5_000,
  rejoinIntervalMinMs: 2_000,
  quorumGraceMs: 1_000,
  quorumExpectedSizeMemoryMs: 300_000,
  membersMax: 16_384,
  transmitQueueMax: 8192,
  eventQueueMax: 4096,
  relaysPendingMax: 1024,
  splitBrainProbeIntervalMs: 10_000,
  splitBrainProbeTargetsMax: 8,
  mergeMasterDelayMs: 500,
  mergeJoinRetryMs: 1_000,
  mergeJoinTimeoutMs: 30_000,
  clockOffsetWarnMs: 1_000,
  clockOffsetMaxMs: HLC_DEFAULTS.driftMaxMs,
  clockSkewWarnIntervalMs: 60_000,
});

/**
 * memberlist's pushPullScale: the push-pull interval for a cluster of `n` members, one
 * extra interval per doubling past PUSH_PULL_SCALE_THRESHOLD so that cluster-wide
 * push-pull traffic (each exchange carries N entries) grows slower than N^2.
 */
export function pushPullIntervalFor(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return intervalMs * multiplier;
}
