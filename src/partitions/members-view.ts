/**
 * The master's authoritative, versioned list of members, and the rule that picks the
 * master from it. Immutable: every change yields a new view with the next version, so a
 * view can be shared, compared by version, and published as it is.
 */
import { FlotillaError } from '../core/errors.js';
import type { MemberRecord, MemberStatus, MembersViewData, NodeId } from '../core/model.js';

const memberStatuses: ReadonlySet<MemberStatus> = new Set<MemberStatus>(['active', 'suspect', 'leaving', 'dead']);

/**
 * Order used for the master rule and for `activeMembers()`: lower `joinVersion` first,
 * then the smaller node id by plain string comparison (UTF-16 code units, the `<`
 * operator, never locale-aware), so every node computes the same order.
 */
export function compareBySeniority(a: MemberRecord, b: MemberRecord): number {
  if (a.joinVersion !== b.joinVersion) return a.joinVersion - b.joinVersion;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

/** An immutable members view built from its data form; validated on construction. */
export class MembersView {
  /** Monotonic version; a newer view replaces an older one. */
  readonly version: number;
  private readonly byId: ReadonlyMap<NodeId, MemberRecord>;
  /** Every member, in seniority order. */
  private readonly ordered: readonly MemberRecord[];
  private readonly active: readonly MemberRecord[];

  /** @throws FlotillaError FLO_INVALID_ARGUMENT on a bad version, member or duplicate node id. */
  constructor(data: MembersViewData) {
    if (!Number.isSafeInteger(data.version) || data.version < 0) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `members view version must be a non-negative integer, got ${String(data.version)}`);
    }
    const byId = new Map<NodeId, MemberRecord>();
    for (const member of data.members) {
      validateMember(member);
      if (byId.has(member.nodeId)) {
        throw new FlotillaError('FLO_INVALID_ARGUMENT', `duplicate node id in members view: ${member.nodeId}`, { nodeId: member.nodeId });
      }
      byId.set(member.nodeId, frozenCopy(member));
    }
    this.version = data.version;
    this.byId = byId;
    this.ordered = Object.freeze([...byId.values()].sort(compareBySeniority));
    this.active = Object.freeze(this.ordered.filter((m) => m.status === 'active'));
  }

  /** An empty view at version 0. */
  static empty(): MembersView {
    return new MembersView({ version: 0, members: [] });
  }

  /** Number of members of any status. */
  get size(): number {
    return this.ordered.length;
  }

  /**
   * The master: the active member with the lowest `joinVersion`, ties broken by the
   * smaller node id (see `compareBySeniority`). Suspect, leaving and dead members are
   * skipped. Undefined when no member is active.
   */
  master(): MemberRecord | undefined {
    return this.active[0];
  }

  /** True when `nodeId` is the master of this view. */
  isMaster(nodeId: NodeId): boolean {
    return this.active[0]?.nodeId === nodeId;
  }

  /** The member with this id, whatever its status. */
  member(nodeId: NodeId): MemberRecord | undefined {
    return this.byId.get(nodeId);
  }

  /** True when the view lists `nodeId`, whatever its status. */
  has(nodeId: NodeId): boolean {
    return this.byId.has(nodeId);
  }

  /** Active members, oldest first (by `joinVersion`, then node id). */
  activeMembers(): readonly MemberRecord[] {
    return this.active;
  }

  /** All members, oldest first. */
  members(): readonly MemberRecord[] {
    return this.ordered;
  }

  /** The join version the master gives the next admitted node: one above the highest seen. */
  nextJoinVersion(): number {
    let highest = -1;
    for (const m of this.ordered) highest = Math.max(highest, m.joinVersion);
    return highest + 1;
  }

  /** Data form, for the wire and for storage. */
  toData(): MembersViewData {
    return { version: this.version, members: this.ordered };
  }

  /** A view with `record` added, or replacing the member with the same id; version + 1. */
  withMember(record: MemberRecord): MembersView {
    const members = this.ordered.filter((m) => m.nodeId !== record.nodeId);
    members.push(record);
    return new MembersView({ version: this.version + 1, members });
  }

  /**
   * A view where `nodeId` has `status`; version + 1. Returns this same view when the
   * status is already that, so a no-op does not cause a publish.
   * @throws FlotillaError FLO_INVALID_ARGUMENT when the node is not a member.
   */
  withStatus(nodeId: NodeId, status: MemberStatus): MembersView {
    const current = this.byId.get(nodeId);
    if (current === undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', `not a member: ${nodeId}`, { nodeId });
    if (current.status === status) return this;
    return this.withMember({ ...current, status });
  }

  /** A view without `nodeId`; version + 1. Returns this same view when it is not a member. */
  without(nodeId: NodeId): MembersView {
    if (!this.byId.has(nodeId)) return this;
    return new MembersView({ version: this.version + 1, members: this.ordered.filter((m) => m.nodeId !== nodeId) });
  }
}

/**
 * A frozen copy of `member`, field by field: a view is built from the membership layer's
 * data on every change, and at a thousand members a spread copy was most of that cost.
 * Tags already frozen (membership freezes them, and so does every view) are shared.
 */
function frozenCopy(member: MemberRecord): MemberRecord {
  const given: unknown = member.tags;
  // Object.isFrozen is true of every primitive too; only a frozen object is shared.
  const tags = typeof given === 'object' && given !== null && Object.isFrozen(given) ? member.tags : Object.freeze({ ...member.tags });
  const { nodeId, address, clientAddress, joinVersion, status, incarnation } = member;
  return Object.freeze(
    clientAddress === undefined
      ? { nodeId, address, joinVersion, status, incarnation, tags }
      : { nodeId, address, clientAddress, joinVersion, status, incarnation, tags },
  );
}

function validateMember(member: MemberRecord): void {
  if (typeof member.nodeId !== 'string' || member.nodeId.length === 0) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'member node id must be a non-empty string');
  }
  if (!Number.isSafeInteger(member.joinVersion) || member.joinVersion < 0) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `joinVersion of ${member.nodeId} must be a non-negative integer`, { nodeId: member.nodeId });
  }
  if (!memberStatuses.has(member.status)) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `unknown status of ${member.nodeId}: ${String(member.status)}`, { nodeId: member.nodeId });
  }
}
