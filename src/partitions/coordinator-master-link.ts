/**
 * A node's link to the master of its view, as a member sees it: who the master is,
 * whether it has reached this node in its current mastership, when to fetch its table
 * (periodically, and soon after hearing of a newer version), how to answer its handover
 * sync, and the way reports reach it (the wire, or the loopback when this node is it).
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { Message, MigrateStart } from '../protocol/messages.js';
import type { CoordinatorConfig } from './coordinator-config.js';
import type { Loopback } from './coordinator-loopback.js';
import type { MergedEpochs } from './merged-epochs.js';
import type { ClusterPartitionTable } from './partition-table.js';

/** Why a member refuses a `MigrateStart` from its master before it has the master's table. */
const NOT_HEARD_REASON = 'no table from this master yet';

/** What the link needs from its coordinator. */
export interface MasterLinkContext {
  readonly self: NodeId;
  readonly config: CoordinatorConfig;
  readonly table: ClusterPartitionTable;
  readonly merged: MergedEpochs;
  readonly loopback: Loopback;
  send(to: NodeId, message: Message): void;
}

/** The member side of one node's relation to its master. */
export class MasterLink {
  private masterId: NodeId | undefined;
  /**
   * Whether the current master has reached this node since it became the master (its
   * handover fetch or a table). Links are FIFO, so orders arriving before that were sent
   * in an earlier mastership of the same node, and are ignored.
   */
  private heardValue = false;
  private nextFetchAt: Millis | undefined;
  private lastFetchAt: Millis | undefined;
  private lastSyncAnswerAt: Millis | undefined;

  constructor(private readonly ctx: MasterLinkContext) {}

  /** The master of this node's view, if any. */
  get id(): NodeId | undefined {
    return this.masterId;
  }

  get heard(): boolean {
    return this.heardValue;
  }

  /** The master reached this node (a table or its handover fetch). */
  markHeard(): void {
    this.heardValue = true;
  }

  /** Another master (or none, or this node): everything learnt of the old one starts over. */
  follow(masterId: NodeId | undefined, now: Millis): void {
    this.masterId = masterId;
    this.heardValue = false;
    // The acknowledgement's rate limit is per master: an answer to the old one must not
    // hold back the first answer to the new one's handover.
    this.lastSyncAnswerAt = undefined;
    this.nextFetchAt = masterId === undefined || masterId === this.ctx.self ? undefined : now + this.ctx.config.tableRefreshIntervalMs;
  }

  /** Some node has table `version`: fetch soon if it is newer and another node is master. */
  observeVersion(version: number, now: Millis): void {
    if (version <= this.ctx.table.version || this.masterId === undefined || this.masterId === this.ctx.self) return;
    const earliest = this.lastFetchAt === undefined ? now : Math.max(now, this.lastFetchAt + this.ctx.config.tableFetchMinIntervalMs);
    if (this.nextFetchAt === undefined || earliest < this.nextFetchAt) this.nextFetchAt = earliest;
  }

  tick(now: Millis): void {
    if (this.nextFetchAt !== undefined && now >= this.nextFetchAt) this.fetch(now);
  }

  nextDeadline(): Millis | undefined {
    return this.nextFetchAt;
  }

  /** A migration order from the master of this node's view, sent in its current mastership. */
  isCurrent(fromId: NodeId | undefined): boolean {
    return fromId !== undefined && fromId === this.masterId && (fromId === this.ctx.self || this.heardValue);
  }

  /** Send a member-side report to the master, which may be this node. */
  toMaster(message: Message): void {
    if (this.masterId === undefined) return;
    if (this.masterId === this.ctx.self) this.ctx.loopback.push(message, true);
    else this.ctx.send(this.masterId, message);
  }

  /**
   * The master asks what we have (its handover sync): our table if newer, then our
   * version as the acknowledgement. The acknowledgement is rate-limited, since two nodes
   * whose views each name the other as master would otherwise answer each other forever.
   */
  answerSync(knownVersion: number, now: Millis): void {
    const masterId = this.masterId!;
    this.heardValue = true;
    const { table } = this.ctx;
    if (table.version > knownVersion) this.ctx.send(masterId, { type: 'PartitionTableUpdate', table: table.toData(), completedMigrations: [] });
    if (this.lastSyncAnswerAt !== undefined && now - this.lastSyncAnswerAt < this.ctx.config.tableFetchMinIntervalMs) return;
    this.lastSyncAnswerAt = now;
    this.ctx.send(masterId, { type: 'FetchPartitionTable', from: this.ctx.self, knownVersion: table.version });
  }

  /**
   * Our master, whose table we have not had yet in its current mastership (its publish
   * reached us before our view named it), ordered a migration: say no at once, so it
   * retries after its retry delay instead of waiting out the migration timeout, and ask
   * for its table.
   */
  refuseUnheard(fromId: NodeId | undefined, msg: MigrateStart, now: Millis): void {
    if (fromId === undefined || fromId !== this.masterId || fromId === this.ctx.self) return;
    this.ctx.send(fromId, { type: 'MigrateCancel', migrationId: msg.migrationId, partition: msg.partition, reason: NOT_HEARD_REASON });
    if (this.lastFetchAt === undefined || now - this.lastFetchAt >= this.ctx.config.tableFetchMinIntervalMs) this.fetch(now);
  }

  private fetch(now: Millis): void {
    const masterId = this.masterId!;
    const report = this.heardValue ? this.ctx.merged.report(this.ctx.table) : undefined;
    if (report !== undefined) this.ctx.send(masterId, report);
    this.ctx.send(masterId, { type: 'FetchPartitionTable', from: this.ctx.self, knownVersion: this.ctx.table.version });
    this.lastFetchAt = now;
    this.nextFetchAt = now + this.ctx.config.tableRefreshIntervalMs;
  }
}
