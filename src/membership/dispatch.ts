/**
 * Routes each inbound message to the part of the membership machine that handles it.
 * Piggybacked updates on a Ping or PingReq are applied before answering, so a refutation
 * they trigger rides back on the Ack itself.
 */
import type { Millis } from '../core/clock.js';
import type { Channel } from '../core/machine.js';
import type { Address } from '../core/model.js';
import type { Message } from '../protocol/messages.js';
import type { Bootstrap } from './bootstrap.js';
import type { Mastership } from './mastership.js';
import type { Dissemination } from './dissemination.js';
import type { HealthWatch } from './health-watch.js';
import type { Prober } from './prober.js';
import type { QuorumWatch } from './quorum.js';
import type { SwimContext } from './swim-context.js';
import type { SplitBrain } from './split-brain.js';
import type { Transitions } from './transitions.js';

/** The parts of the machine a message can reach. */
export interface MachineParts {
  readonly rt: SwimContext;
  readonly transitions: Transitions;
  readonly prober: Prober;
  readonly dissemination: Dissemination;
  readonly mastership: Mastership;
  readonly splitBrain: SplitBrain;
  readonly quorum: QuorumWatch;
  readonly bootstrap: Bootstrap;
  readonly health: HealthWatch;
  /** Whether a JoinResponse means anything now (joining, or running and rejoining). */
  acceptsJoinResponse(): boolean;
}

/** Hands `message` from `from`, which came on `channel`, to its handler. */
export function dispatchMessage(parts: MachineParts, from: Address, message: Message, now: Millis, channel: Channel): void {
  const { transitions, prober, dissemination, mastership } = parts;
  switch (message.type) {
    case 'Ping': {
      // An accusation of this node on a Ping is answered on the Ack itself, not separately.
      let accused = false;
      for (const u of message.updates) {
        if (u.type !== 'Alive' && u.node === parts.rt.selfId) accused = true;
        else if (u.type !== 'Alive' && transitions.foreignAccusation(from, u.node)) {
          parts.rt.counters.ignored++;
          continue;
        }
        transitions.apply(u, now);
      }
      prober.onPing(from, message, now, accused, channel);
      mastership.noteTalker(message.from, from, now);
      return;
    }
    case 'PingReq':
      for (const u of message.updates) transitions.apply(u, now, from);
      prober.onPingReq(from, message, now);
      return;
    case 'Ack':
      prober.onAck(message, now);
      for (const u of message.updates) transitions.apply(u, now, from);
      return;
    case 'Nack':
      prober.onNack(message, now);
      return;
    case 'Gossip':
      dissemination.onGossip(from, message, now);
      return;
    case 'Alive':
    case 'Suspect':
    case 'Dead':
      transitions.apply(message, now, from);
      return;
    case 'PushPull':
      dissemination.onPushPull(from, message, now);
      return;
    case 'JoinRequest':
      mastership.onJoinRequest(message, now);
      return;
    case 'JoinResponse':
      if (parts.acceptsJoinResponse() && parts.splitBrain.acceptsJoinResponseFrom(from)) mastership.onJoinResponse(message, now);
      return;
    case 'MembersUpdate':
      mastership.onMembersUpdate(from, message, now);
      return;
    case 'LeaveRequest':
      mastership.onLeaveRequest(message);
      return;
    case 'Heartbeat':
      parts.health.onHeartbeat(message.from, now);
      mastership.onHeartbeat(from, message, now);
      return;
    case 'HeartbeatComplaint':
      mastership.reports.onComplaint(message, now);
      return;
    case 'ExplicitSuspicion':
      mastership.onExplicitSuspicion(message, now);
      return;
    case 'SplitBrainProbe':
      parts.splitBrain.onProbe(message, now);
      return;
    case 'SplitBrainProbeResponse':
      parts.splitBrain.onProbeResponse(message, now);
      return;
    case 'MergeRequest':
      parts.splitBrain.onMergeRequest(message, now);
      return;
    default:
      // Partition, migration and forwarding messages belong to other machines.
      parts.rt.counters.ignored++;
  }
}
