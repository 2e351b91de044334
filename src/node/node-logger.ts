/**
 * The node's structured logger: one JSON line per event (pino's format), every line
 * carrying the node id. A caller may pass its own pino-compatible logger instead; the
 * node then logs through a child of it. Also the one place that says how each membership event is
 * logged, so operators find joins, failures and master changes at `info`.
 */
import { createJsonLogger } from './json-logger.js';
import type { MembershipEvent } from '../membership/events.js';
import type { NodeLogger } from './service.js';

/** Log levels, most verbose last; `silent` turns logging off. */
export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** One of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Whether `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** A child of `logger` when given, else a JSON-line logger to stdout at `level`; bound to the node id. */
export function createNodeLogger(nodeId: string, level: LogLevel, logger?: NodeLogger): NodeLogger {
  if (logger !== undefined) return logger.child({ nodeId });
  return createJsonLogger({ level, base: { nodeId } });
}

/** Writes one line for `event` at the level operators expect for it. */
export function logMembershipEvent(log: NodeLogger, event: MembershipEvent): void {
  switch (event.type) {
    case 'NodeJoined':
    case 'NodeLeft':
    case 'NodeFailed':
    case 'NodeRecovered':
    case 'NodeSuspected': {
      const { nodeId: member, address, incarnation, state } = event.member;
      const extra = event.type === 'NodeSuspected' ? { accuser: event.accuser } : event.type === 'NodeRecovered' ? { previousState: event.previousState } : {};
      log.info({ event: event.type, member, address, incarnation, state, ...extra }, memberMessage(event.type));
      return;
    }
    case 'MasterChanged':
      log.info({ event: event.type, master: event.master ?? null, previous: event.previous ?? null }, 'master changed');
      return;
    case 'JoinCompleted':
      log.info({ event: event.type, formed: event.formed }, event.formed ? 'formed a new cluster' : 'joined the cluster');
      return;
    case 'JoinFailed':
      log.error({ event: event.type, code: event.error.code, error: event.error.message }, 'join failed');
      return;
    case 'PartitionDetected': {
      const fields = { event: event.type, partitioned: event.partitioned, liveCount: event.liveCount, expectedSize: event.expectedSize };
      if (event.partitioned) log.warn(fields, 'lost quorum: this node is read-only');
      else log.info(fields, 'quorum restored');
      return;
    }
    case 'NodeTagsUpdated':
      log.debug({ event: event.type, member: event.member.nodeId, tags: event.member.tags }, 'member tags changed');
      return;
    case 'ClockSkewDetected': {
      const fields = { event: event.type, code: 'FLO_CLOCK_SKEW', member: event.nodeId, address: event.address ?? null, offsetMs: event.offsetMs, rttMs: event.rttMs, boundMs: event.boundMs };
      // Past the bound, replicas refuse the faster clock's writes (FLO_HLC_DRIFT): an error, not a hint.
      if (event.beyondBound) log.error(fields, 'member clock offset beyond the drift bound: synchronise clocks (NTP)');
      else log.warn(fields, 'member clock offset: synchronise clocks (NTP)');
      return;
    }
    case 'ViewChanged':
      log.debug({ event: event.type, version: event.view.version, members: event.view.members.length }, 'members view changed');
      return;
  }
}

function memberMessage(type: 'NodeJoined' | 'NodeLeft' | 'NodeFailed' | 'NodeRecovered' | 'NodeSuspected'): string {
  switch (type) {
    case 'NodeJoined':
      return 'member joined';
    case 'NodeLeft':
      return 'member left';
    case 'NodeFailed':
      return 'member failed';
    case 'NodeRecovered':
      return 'member recovered';
    case 'NodeSuspected':
      return 'member suspected';
  }
}
