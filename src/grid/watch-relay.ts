/**
 * The relaying side of a subscription that reaches the cluster through one node (a
 * `serverUrl` client): for the partitions this node does not own, one long-poll loop per
 * owner (`kv.watch`, watch-handler.ts), each asking for the changes above the relay's
 * per-partition cursors and handing them to the sink with the cursor they reach. The
 * partitions are grouped by the current table on every poll, so a partition whose owner
 * changed (a NOT_OWNER part, a failed poll, a new table version) is asked of its new owner
 * from the same cursor: nothing acknowledged is skipped, and a change told twice is
 * dropped by the client's version check. A partition that moves to the relaying node
 * itself is read once from its store above the cursor (`replayHere`), then left to that
 * node's own events. No state is kept on the owners, and the loops
 * run on the sharding layer's timers.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { sleep, type TimerHandle } from '../core/timers.js';
import type { ServiceRequest } from '../protocol/messages.js';
import { remoteError } from '../sharding/migration-outgoing.js';
import type { ShardContext } from '../sharding/service.js';
import { compareVersions, versionOfChange, type KvChange, type KvVersion } from './kv-codec.js';
import type { ReplayFilter } from './change-replay.js';
import { KV_WATCH_SERVICE } from './watch-handler.js';
import { decodeWatchAnswer, encodeWatchRequest, WHOLE, type WatchAnswer, type WatchCursor } from './watch-codec.js';

/** How long an owner may hold one poll, ms. */
export const RELAY_WAIT_MS = 10_000;

/** Time for an owner's answer beyond the poll's wait before the poll counts as failed, ms. */
export const RELAY_ANSWER_GRACE_MS = 5_000;

/** How often the relay regroups its partitions by the current table, ms (a parked poll does not see a new one). */
export const RELAY_TABLE_CHECK_MS = 250;

/** First and longest pause after a failed poll, ms (doubling between them). */
export const RELAY_BACKOFF_MIN_MS = 20;
export const RELAY_BACKOFF_MAX_MS = 1_000;

/** Pause after a busy answer or while the client's connection is behind, ms. */
export const RELAY_PAUSE_MS = 100;

/** Where relayed changes go. */
export interface RelaySink {
  /**
   * Changes of `partition` above the cursor asked, oldest first; `mark`: every change of
   * the partition at or below it has now been handed over (undefined: no such promise).
   */
  changes(partition: number, changes: readonly KvChange[], mark: number | undefined): void;
  /** Changes of `partition` were lost (collected deletes, or a cut answer). */
  lost(partition: number): void;
  /** False while the client cannot take more (its connection is behind): polls wait. */
  ready(): boolean;
  /**
   * `partition` is owned by this node now, under `epoch`: its changes above the relay's
   * cursor went out (`changes`, with this node's mark), and from now on this node's own
   * live events of it may carry its marks (see `RelayDeps.replayHere`).
   */
  adopted?(partition: number, epoch: number): void;
  /**
   * Called once: when every relayed partition has been answered up to its owner's mark at
   * least once (or moved here), or when the wait given to `start` ran out first.
   */
  caughtUp?(): void;
}

/** A relayed partition's changes read from this node's own store, now that it owns the partition. */
export interface LocalReplay {
  /** Changes above the cursor asked, as the subscription sees them, oldest first. */
  readonly changes: readonly KvChange[];
  /** Every change at or below it is stored here (undefined: no such promise). */
  readonly mark: number | undefined;
  readonly epoch: number;
  /** Deletes above the cursor were collected: they cannot be told. */
  readonly lost: boolean;
}

/** What the relay uses of the sharding layer. */
export type RelayDeps = Pick<ShardContext, 'self' | 'table' | 'addressOf' | 'request' | 'timers' | 'stopped' | 'observeTableVersion'> & {
  readonly valueBytesMax: number;
  /**
   * The changes of `partition` above `cursor` in this node's store, synchronously (so
   * nothing is acknowledged here between them and the live events that follow);
   * undefined when this node does not own it (any more). Without it a partition that
   * moves here is left to this node's live events, without marks.
   */
  readonly replayHere?: (partition: number, cursor: number) => LocalReplay | undefined;
};

/** A running relay; `stop` ends its loops (an answer in flight is dropped). */
export interface RelayHandle {
  stop(): void;
  /** The cursor reached for `partition`: every change at or below it was handed over (undefined: none yet). */
  cursorOf(partition: number): number | undefined;
  /** Whether `partition` has been answered up to its owner's mark at least once. */
  caughtUpWith(partition: number): boolean;
}

/** Counters of one relay, for tests and status. */
export interface RelayCounters {
  polls: number;
  failures: number;
}

/** One owner's poll loop: the partitions its latest poll asked for. */
interface Loop {
  asked: ReadonlySet<number>;
}

/** The relay of one subscription. */
export class WatchRelay implements RelayHandle {
  readonly counters: RelayCounters = { polls: 0, failures: 0 };
  private readonly cursors: Map<number, WatchCursor>;
  /** Per partition, the newest version handed over: owners leave out what is not newer. */
  private readonly seen = new Map<number, KvVersion>();
  /** Partitions not yet answered in full once: the relay has caught up when none is left. */
  private readonly behind: Set<number>;
  private readonly loops = new Map<NodeId, Loop>();
  private stopped = false;
  private check: TimerHandle | undefined;
  private giveUp: TimerHandle | undefined;
  private opSeq = 0;
  private reported = false;
  /** The table version the loops were last grouped by. */
  private groupedVersion = -1;
  /** Partitions that moved to this node and were replayed from its store, with the epoch they were taken at. */
  private readonly here = new Map<number, number>();

  /**
   * `partitions` are relayed, from `since` (partition to HLC millis; a partition it does
   * not list is replayed whole; null: start live).
   */
  constructor(
    private readonly deps: RelayDeps,
    private readonly filter: ReplayFilter & { readonly filter?: unknown },
    partitions: readonly number[],
    since: ReadonlyMap<number, number> | null,
    private readonly sink: RelaySink,
    private readonly waitMs: number = RELAY_WAIT_MS,
  ) {
    this.cursors = new Map(partitions.map((p) => [p, since === null ? null : (since.get(p) ?? WHOLE)]));
    this.behind = new Set(partitions);
  }

  cursorOf(partition: number): number | undefined {
    const cursor = this.cursors.get(partition);
    return cursor === null || cursor === undefined || cursor === WHOLE ? undefined : cursor;
  }

  caughtUpWith(partition: number): boolean {
    return this.cursors.has(partition) && !this.behind.has(partition);
  }

  /** Start polling; `caughtUpWithinMs`: call the sink's `caughtUp` by then at the latest. */
  start(caughtUpWithinMs?: number): this {
    if (caughtUpWithinMs !== undefined) this.giveUp = this.deps.timers.at(this.deps.timers.now() + caughtUpWithinMs, () => this.report());
    this.regroup();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.check?.cancel();
    this.giveUp?.cancel();
  }

  private done(): boolean {
    return this.stopped || this.deps.stopped();
  }

  /**
   * Start a loop for every owner of relayed partitions that has none, and a fresh one for
   * an owner that gained a partition its loop's poll does not ask for (that poll may be
   * parked for a while; the old loop ends at its answer); look again at the next check.
   */
  private regroup(): void {
    if (this.done()) return;
    const table = this.deps.table();
    this.groupedVersion = table.version;
    const groups = new Map<NodeId, number[]>();
    for (const p of this.cursors.keys()) {
      const owner = table.version > 0 ? table.owner(p) : undefined;
      if (owner === this.deps.self) {
        this.takeHere(p, table.epoch(p));
        this.caughtUp(p);
        continue;
      }
      this.here.delete(p);
      if (owner === undefined) continue;
      const group = groups.get(owner);
      if (group === undefined) groups.set(owner, [p]);
      else group.push(p);
    }
    for (const [owner, partitions] of groups) {
      const loop = this.loops.get(owner);
      if (loop !== undefined && partitions.every((p) => loop.asked.has(p))) continue;
      const fresh: Loop = { asked: new Set(partitions) };
      this.loops.set(owner, fresh);
      void this.run(owner, fresh);
    }
    this.scheduleCheck();
  }

  /** Regroup when the table's version moved (under one version, the groups and their loops stay as they are). */
  private scheduleCheck(): void {
    this.check?.cancel();
    this.check = this.deps.timers.at(this.deps.timers.now() + RELAY_TABLE_CHECK_MS, () => {
      this.check = undefined;
      if (this.done()) return;
      if (this.deps.table().version !== this.groupedVersion) this.regroup();
      else this.scheduleCheck();
    });
  }

  /** The relayed partitions `owner` owns in the current table. */
  private partitionsOf(owner: NodeId): number[] {
    const table = this.deps.table();
    return [...this.cursors.keys()].filter((p) => table.owner(p) === owner);
  }

  private async run(owner: NodeId, loop: Loop): Promise<void> {
    let backoff = RELAY_BACKOFF_MIN_MS;
    const current = (): boolean => !this.done() && this.loops.get(owner) === loop;
    try {
      while (current()) {
        const partitions = this.partitionsOf(owner);
        if (partitions.length === 0) return;
        if (!this.sink.ready()) {
          await sleep(this.deps.timers, RELAY_PAUSE_MS);
          continue;
        }
        loop.asked = new Set(partitions);
        let answer: WatchAnswer;
        try {
          answer = await this.poll(owner, partitions);
        } catch {
          this.counters.failures++;
          await sleep(this.deps.timers, backoff);
          backoff = Math.min(RELAY_BACKOFF_MAX_MS, backoff * 2);
          continue;
        }
        backoff = RELAY_BACKOFF_MIN_MS;
        // A replaced loop's answer still counts: cursors only go up, and the client drops repeats.
        if (this.done()) return;
        const moved = this.apply(answer);
        // A NOT_OWNER part before this node's table says so: wait for the table rather than ask again at once.
        if (answer.busy || (moved && this.partitionsOf(owner).length === partitions.length)) await sleep(this.deps.timers, RELAY_PAUSE_MS);
      }
    } finally {
      if (this.loops.get(owner) === loop) this.loops.delete(owner);
    }
  }

  private async poll(owner: NodeId, partitions: readonly number[]): Promise<WatchAnswer> {
    const address = this.deps.addressOf(owner);
    if (address === undefined) throw new FlotillaError('FLO_CONNECTION_FAILED', `owner ${owner} has no address`);
    this.counters.polls++;
    // A poll for partitions not yet answered once is answered at once, empty or not: a
    // live query's answer to its client waits for that first round.
    const waitMs = partitions.some((p) => this.behind.has(p)) ? 0 : this.waitMs;
    const payload = encodeWatchRequest({ ...this.filter, cursors: new Map(partitions.map((p) => [p, this.cursors.get(p)!])), seen: this.seen, waitMs });
    const request: ServiceRequest = { type: 'ServiceRequest', service: KV_WATCH_SERVICE, partition: partitions[0]!, opId: `${this.deps.self}/watch/${++this.opSeq}`, forward: false, payload };
    const reply = await this.deps.request(address, request, this.waitMs + RELAY_ANSWER_GRACE_MS);
    if (reply.type !== 'ServiceResponse') throw new FlotillaError('FLO_INTERNAL', `watch answered with ${reply.type}`);
    if (reply.tableVersion !== undefined && reply.tableVersion > this.deps.table().version) this.deps.observeTableVersion(reply.tableVersion);
    if (!reply.ok) throw remoteError(reply.errorCode, reply.errorMessage);
    return decodeWatchAnswer(reply.payload ?? new Uint8Array(), this.deps.valueBytesMax);
  }

  /**
   * A relayed partition this node owns now: what its store holds above the relay's
   * cursor goes out once per epoch (changes its previous owner acknowledged that the relay
   * had not yet been told are in it), then its own live events carry on. The cursor moves
   * to the mark, so should the partition move away again its next owner is asked from there.
   */
  private takeHere(partition: number, epoch: number): void {
    const cursor = this.cursors.get(partition);
    // A relay that started live and was never answered has no cursor to go on from.
    if (this.deps.replayHere === undefined || cursor === null || cursor === undefined || this.here.get(partition) === epoch) return;
    const local = this.deps.replayHere(partition, cursor);
    if (local === undefined) return;
    this.here.set(partition, epoch);
    if (local.lost) this.sink.lost(partition);
    if (local.mark !== undefined) this.cursors.set(partition, Math.max(cursor, local.mark));
    // What the relay was already told is left out, as the owners leave it out of their answers.
    const seen = this.seen.get(partition);
    const changes = seen === undefined ? local.changes : local.changes.filter((c) => compareVersions(versionOfChange(c), seen) > 0);
    if (changes.length > 0) {
      this.noteSeen(partition, changes);
      this.sink.changes(partition, changes, local.mark);
    }
    this.sink.adopted?.(partition, local.epoch);
  }

  private noteSeen(partition: number, changes: readonly KvChange[]): void {
    let newest = this.seen.get(partition);
    for (const change of changes) if (newest === undefined || compareVersions(versionOfChange(change), newest) > 0) newest = versionOfChange(change);
    if (newest !== undefined) this.seen.set(partition, newest);
  }

  private caughtUp(partition: number): void {
    if (this.behind.delete(partition) && this.behind.size === 0) this.report();
  }

  private report(): void {
    if (this.reported || this.stopped) return;
    this.reported = true;
    this.giveUp?.cancel();
    this.sink.caughtUp?.();
  }

  /** Hand the answer's changes over and advance the cursors; true when some part was NOT_OWNER. */
  private apply(answer: WatchAnswer): boolean {
    let moved = false;
    for (const part of answer.parts) {
      if (!this.cursors.has(part.partition)) continue;
      if (!part.owned) {
        moved = true;
        continue;
      }
      const before = this.cursors.get(part.partition)!;
      const next = before === null ? part.cursor : Math.max(before, part.cursor);
      this.cursors.set(part.partition, next);
      if (part.lost) this.sink.lost(part.partition);
      const done = part.complete;
      if (part.changes.length === 0) {
        if (done) this.caughtUp(part.partition);
        continue;
      }
      this.noteSeen(part.partition, part.changes);
      this.sink.changes(part.partition, part.changes, next === WHOLE ? undefined : next);
      if (done) this.caughtUp(part.partition);
    }
    return moved;
  }
}
