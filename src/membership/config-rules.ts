/**
 * The rules a membership configuration must meet, checked once at construction so a bad
 * value or combination (a probe timeout above the probe interval, an adaptive floor above
 * its ceiling) fails loudly with FLO_CONFIG_INVALID instead of misbehaving.
 */
import { FlotillaError } from '../core/errors.js';
import {
  DEFAULT_SWIM_CONFIG,
  GOSSIP_MESSAGE_BYTES_LIMIT,
  GOSSIP_MESSAGE_BYTES_MIN,
  PROBE_TIMEOUT_PHI_MAX,
  ROUND_TRIP_SAMPLES_LIMIT,
  type SwimConfig,
} from './config.js';

type NumericKey = { [K in keyof SwimConfig]: SwimConfig[K] extends number ? K : never }[keyof SwimConfig];

/** Fields that must be integers >= 1. */
const POSITIVE_INTEGERS: readonly NumericKey[] = [
  'probeIntervalMs', 'probeTimeoutMs', 'probeTimeoutMinMs', 'probeTimeoutMaxMs', 'roundTripSamplesMax', 'roundTripSamplesMin', 'roundTripStdDeviationMinMs', 'suspicionMult', 'suspicionMaxTimeoutMult', 'retransmitMult',
  'gossipIntervalMs', 'gossipNodes', 'rebuttalIntervalMs', 'gossipUpdatesPerMessageMax', 'gossipMessageBytesMax', 'gossipQueueMax',
  'pushPullIntervalMs', 'pushPullStatesMax', 'tombstoneMs', 'reconnectIntervalMs', 'reconnectTimeoutMs', 'failedMembersMax', 'leaveTimeoutMs', 'leaveFanout', 'joinAttemptsMax',
  'joinBackoffInitialMs', 'joinBackoffMaxMs', 'seedFormAfterAttempts', 'heartbeatIntervalMs', 'heartbeatSuspectedMax',
  'complaintWindowMs', 'complaintThreshold', 'complaintsTrackedMax', 'admissionTimeoutMs', 'admissionsPendingMax',
  'explicitSuspicionIntervalMs', 'rejoinIntervalMinMs', 'quorumGraceMs', 'quorumExpectedSizeMemoryMs',
  'membersMax', 'transmitQueueMax', 'eventQueueMax', 'relaysPendingMax',
  'splitBrainProbeIntervalMs', 'splitBrainProbeTargetsMax', 'mergeJoinRetryMs', 'mergeJoinTimeoutMs',
  'clockOffsetWarnMs', 'clockOffsetMaxMs', 'clockSkewWarnIntervalMs',
];

/** Fields that must be integers >= 0. */
const NON_NEGATIVE_INTEGERS: readonly NumericKey[] = [
  'indirectChecks', 'suspicionConfirmationsExpected', 'awarenessScoreMax', 'gossipToTheDeadMs', 'viewPublishIntervalMinMs',
  'mergeMasterDelayMs',
];

function invalid(detail: string, details: Record<string, unknown>): FlotillaError {
  return new FlotillaError('FLO_CONFIG_INVALID', detail, details);
}

/**
 * Merges `overrides` over the defaults and checks every rule; throws
 * FLO_CONFIG_INVALID on the first violation.
 */
export function resolveSwimConfig(overrides: Partial<SwimConfig> = {}): SwimConfig {
  const config: SwimConfig = { ...DEFAULT_SWIM_CONFIG, ...overrides };
  for (const key of POSITIVE_INTEGERS) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${key} must be an integer >= 1`, { [key]: value });
  }
  for (const key of NON_NEGATIVE_INTEGERS) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${key} must be an integer >= 0`, { [key]: value });
  }
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    throw invalid('probeTimeoutMs must be below probeIntervalMs', { probeTimeoutMs: config.probeTimeoutMs, probeIntervalMs: config.probeIntervalMs });
  }
  if (config.clockOffsetWarnMs > config.clockOffsetMaxMs) {
    throw invalid('clockOffsetWarnMs must not exceed clockOffsetMaxMs', { clockOffsetWarnMs: config.clockOffsetWarnMs, clockOffsetMaxMs: config.clockOffsetMaxMs });
  }
  if (config.probeTimeoutMinMs > config.probeTimeoutMaxMs) {
    throw invalid('probeTimeoutMinMs must not exceed probeTimeoutMaxMs', { probeTimeoutMinMs: config.probeTimeoutMinMs, probeTimeoutMaxMs: config.probeTimeoutMaxMs });
  }
  if (config.roundTripSamplesMin > config.roundTripSamplesMax || config.roundTripSamplesMax > ROUND_TRIP_SAMPLES_LIMIT) {
    throw invalid(`roundTripSamplesMin must not exceed roundTripSamplesMax, itself at most ${ROUND_TRIP_SAMPLES_LIMIT}`, {
      roundTripSamplesMin: config.roundTripSamplesMin,
      roundTripSamplesMax: config.roundTripSamplesMax,
    });
  }
  if (!(Number.isFinite(config.heartbeatPhiThreshold) && config.heartbeatPhiThreshold > 0 && config.heartbeatPhiThreshold <= PROBE_TIMEOUT_PHI_MAX)) {
    throw invalid(`heartbeatPhiThreshold must be in (0, ${PROBE_TIMEOUT_PHI_MAX}]`, { heartbeatPhiThreshold: config.heartbeatPhiThreshold });
  }
  if (!(Number.isFinite(config.probeTimeoutPhi) && config.probeTimeoutPhi > 0 && config.probeTimeoutPhi <= PROBE_TIMEOUT_PHI_MAX)) {
    throw invalid(`probeTimeoutPhi must be in (0, ${PROBE_TIMEOUT_PHI_MAX}]`, { probeTimeoutPhi: config.probeTimeoutPhi });
  }
  if (config.joinBackoffInitialMs > config.joinBackoffMaxMs) {
    throw invalid('joinBackoffInitialMs must not exceed joinBackoffMaxMs', {
      joinBackoffInitialMs: config.joinBackoffInitialMs,
      joinBackoffMaxMs: config.joinBackoffMaxMs,
    });
  }
  if (!(config.joinBackoffJitter >= 0 && config.joinBackoffJitter < 1)) {
    throw invalid('joinBackoffJitter must be in [0, 1)', { joinBackoffJitter: config.joinBackoffJitter });
  }
  if (config.gossipMessageBytesMax < GOSSIP_MESSAGE_BYTES_MIN || config.gossipMessageBytesMax > GOSSIP_MESSAGE_BYTES_LIMIT) {
    throw invalid(`gossipMessageBytesMax must be in [${GOSSIP_MESSAGE_BYTES_MIN}, ${GOSSIP_MESSAGE_BYTES_LIMIT}]`, {
      gossipMessageBytesMax: config.gossipMessageBytesMax,
    });
  }
  if (config.tombstoneMs < config.gossipToTheDeadMs) {
    throw invalid('tombstoneMs must be at least gossipToTheDeadMs', { tombstoneMs: config.tombstoneMs, gossipToTheDeadMs: config.gossipToTheDeadMs });
  }
  if (config.mergeJoinRetryMs > config.mergeJoinTimeoutMs) {
    throw invalid('mergeJoinRetryMs must not exceed mergeJoinTimeoutMs', { mergeJoinRetryMs: config.mergeJoinRetryMs, mergeJoinTimeoutMs: config.mergeJoinTimeoutMs });
  }
  if (typeof config.tcpFallbackProbe !== 'boolean') throw invalid('tcpFallbackProbe must be a boolean', { tcpFallbackProbe: config.tcpFallbackProbe });
  return Object.freeze(config);
}
