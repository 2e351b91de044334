/**
 * Admission on the master: screening a JoinRequest (cluster id, protocol version, the
 * node layer's credential check, the joiner's clock, node id collisions) and remembering admitted joiners
 * until they show up alive in SWIM (their first push-pull) and enter the published view.
 * Pending admissions are bounded in count and in time.
 */
import type { Millis } from '../core/clock.js';
import type { ErrorCode } from '../core/errors.js';
import type { Address, NodeId, NodeInfo } from '../core/model.js';
import { PROTOCOL_VERSION, type JoinRequest } from '../protocol/messages.js';

/** Answer of the join verification hook (the node layer checks the cluster secret). */
export type JoinVerdict = { readonly ok: true } | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/** Checks a JoinRequest's credentials on the master. */
export type JoinVerifier = (request: JoinRequest) => JoinVerdict;

/** Makes the auth token of this node's JoinRequest (e.g. an HMAC over its fields). */
export type AuthTokenMaker = (request: Omit<JoinRequest, 'authToken'>) => string;

/** What the screening needs to know about the cluster. */
export interface JoinScreen {
  readonly clusterId: string;
  readonly selfId: NodeId;
  readonly verifyJoin: JoinVerifier;
  /** The master's clock when the request arrived. */
  readonly now: Millis;
  /** A joiner's clock may be off from the master's by at most this, ms (`clockOffsetMaxMs`). */
  readonly clockOffsetMaxMs: number;
  /** Address of a live (alive or suspect) member with this id, if any. */
  liveAddressOf(nodeId: NodeId): Address | undefined;
}

/** Checks `req` before admission: the first failing rule decides. */
export function screenJoin(req: JoinRequest, screen: JoinScreen): JoinVerdict {
  if (req.clusterId !== screen.clusterId) return { ok: false, code: 'FLO_JOIN_REJECTED', reason: 'cluster id mismatch' };
  if (req.protocolVersion !== PROTOCOL_VERSION) {
    return { ok: false, code: 'FLO_PROTOCOL_VERSION', reason: `protocol ${req.protocolVersion}, expected ${PROTOCOL_VERSION}` };
  }
  const verdict = screen.verifyJoin(req);
  if (!verdict.ok) return verdict;
  const clock = screenClock(req.sentAt, screen.now, screen.clockOffsetMaxMs);
  if (!clock.ok) return clock;
  const live = screen.liveAddressOf(req.node.nodeId);
  if (req.node.nodeId === screen.selfId || (live !== undefined && live !== req.node.address)) {
    return { ok: false, code: 'FLO_JOIN_REJECTED', reason: 'node id in use' };
  }
  return { ok: true };
}

/**
 * Refuses a joiner whose clock read `sentAt` when the master's read `now` on arrival,
 * when the two are further apart than `maxMs`. The estimate is the joiner's offset less
 * the request's transit time (milliseconds on a LAN, against a bound of a minute): a
 * joiner just behind the bound may be refused, one ahead of it never admitted.
 */
export function screenClock(sentAt: Millis, now: Millis, maxMs: number): JoinVerdict {
  const offsetMs = sentAt - now;
  if (Math.abs(offsetMs) <= maxMs) return { ok: true };
  const side = offsetMs > 0 ? 'ahead of' : 'behind';
  return {
    ok: false,
    code: 'FLO_CLOCK_SKEW',
    reason: `the joining node's clock is ${Math.abs(offsetMs)} ms ${side} the master's, beyond the ${maxMs} ms drift bound: synchronise its clock (NTP) and start it again`,
  };
}

/** One admitted joiner not yet in the view. */
export interface Admission {
  readonly info: NodeInfo;
  readonly joinVersion: number;
  readonly admittedAt: Millis;
}

/** Admitted joiners awaiting their first appearance in SWIM, oldest first. */
export class Admissions {
  private readonly pending = new Map<NodeId, Admission>();

  constructor(
    private readonly capacityMax: number,
    private readonly timeoutMs: number,
  ) {}

  has(nodeId: NodeId): boolean {
    return this.pending.has(nodeId);
  }

  get(nodeId: NodeId): Admission | undefined {
    return this.pending.get(nodeId);
  }

  /** Records an admission; true when the oldest had to be dropped to make room. */
  add(admission: Admission): boolean {
    const id = admission.info.nodeId;
    let dropped = false;
    if (!this.pending.has(id) && this.pending.size >= this.capacityMax) {
      this.pending.delete(this.pending.keys().next().value as NodeId);
      dropped = true;
    }
    this.pending.set(id, admission);
    return dropped;
  }

  /**
   * Hands over the admissions `ready` accepts (the joiner is alive in SWIM) and drops
   * those already in the view or older than the timeout.
   */
  collect(now: Millis, inView: (nodeId: NodeId) => boolean, ready: (nodeId: NodeId) => boolean): Admission[] {
    const out: Admission[] = [];
    for (const [id, admission] of this.pending) {
      if (inView(id)) this.pending.delete(id);
      else if (ready(id)) {
        out.push(admission);
        this.pending.delete(id);
      } else if (now - admission.admittedAt >= this.timeoutMs) this.pending.delete(id);
    }
    return out;
  }
}
