/**
 * The owner's side of the subscription relay: the `kv.watch` long poll. A node that relays
 * a client's subscription asks each owner for the changes above its cursors; the owner
 * answers at once when it has news (a cursor to advance, a partition it does not own, a
 * start-live cursor, collected deletes), else parks the poll until one of its writes to
 * those partitions is acknowledged or the poll's wait runs out. The owner keeps no
 * subscription state beyond the parked polls, which are bounded in count and bytes (past
 * the bound a poll is answered at once, flagged busy) and all answered when the service
 * stops. Answers are bounded in bytes: a partial answer's cursor stops where it stopped.
 */
import type { TimerHandle, Timers } from '../core/timers.js';
import type { PartitionHandler } from '../sharding/service.js';
import type { ParticipantRole } from '../sharding/participant.js';
import { asChange } from './change-replay.js';
import { compareVersions, recordSize, stampOf, type KvChange, type KvSlot } from './kv-codec.js';
import type { KvStore } from './kv-store.js';
import { compileFilter, parseFilter, type FilterPredicate } from '../protocol/query-filter.js';
import { asQueryChange } from './query-changes.js';
import { decodeWatchRequest, encodeWatchAnswer, WHOLE, type WatchAnswer, type WatchPart, type WatchRequest } from './watch-codec.js';

/** Service name of the long poll. */
export const KV_WATCH_SERVICE = 'kv.watch';

/** Polls one node holds parked, at most. */
export const WATCH_PARKED_MAX = 1024;

/** Bytes of parked polls (their requests) one node holds, at most. */
export const WATCH_PARKED_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Bytes of changes in one answer before it stops at a millisecond boundary. A single
 * millisecond of one partition is never split unless it alone passes `WATCH_ANSWER_HARD_BYTES_MAX`.
 */
export const WATCH_ANSWER_BYTES_MAX = 1024 * 1024;

/** Bytes of changes one answer never passes (below the wire's payload bound): the rest of a millisecond past it is reported lost. */
export const WATCH_ANSWER_HARD_BYTES_MAX = 6 * 1024 * 1024;

/** What the handler reads. */
export interface WatchDeps {
  readonly store: Pick<KvStore, 'slotsAbove' | 'collectedUpTo' | 'newestVersion'>;
  readonly timers: Timers;
  roleOf(partition: number): ParticipantRole;
  /** The partition's resume mark (see `KvHandlers.markOf`). */
  markOf(partition: number): number | undefined;
  stopped(): boolean;
}

/** Bounds of the parked polls (defaults above). */
export interface WatchLimits {
  readonly parkedMax: number;
  readonly parkedBytesMax: number;
}

/** A decoded poll, with its live query's filter compiled. */
interface Watch {
  readonly request: WatchRequest;
  readonly predicate: FilterPredicate | undefined;
}

interface Parked {
  readonly watch: Watch;
  readonly bytes: number;
  readonly timer: TimerHandle;
  readonly answer: (payload: Uint8Array) => void;
}

/** Counters of the long poll. */
export interface WatchCounters {
  polls: number;
  parked: number;
  /** Polls answered, at once or after being parked. */
  answered: number;
  /** Polls answered at once, busy, because the parked bound was reached. */
  busy: number;
}

/** The `kv.watch` handler of one node. */
export class WatchHandler {
  readonly counters: WatchCounters = { polls: 0, parked: 0, answered: 0, busy: 0 };
  private readonly parked = new Set<Parked>();
  private parkedBytes = 0;

  constructor(
    private readonly deps: WatchDeps,
    private readonly limits: WatchLimits = { parkedMax: WATCH_PARKED_MAX, parkedBytesMax: WATCH_PARKED_BYTES_MAX },
  ) {}

  /** Run on any node (not owner-only: a poll spans partitions, and each is checked here). */
  handler(): PartitionHandler {
    return { service: KV_WATCH_SERVICE, ownerOnly: false, isWrite: () => false, handle: (request) => this.poll(request.payload) };
  }

  /** Polls parked now. */
  parkedCount(): number {
    return this.parked.size;
  }

  /** Bytes of the polls parked now (their requests, as counted against the bound). */
  parkedByteCount(): number {
    return this.parkedBytes;
  }

  /** Answer a poll now or park it. @throws FLO_INVALID_ARGUMENT for a malformed one. */
  poll(payload: Uint8Array): Promise<Uint8Array> {
    const request = decodeWatchRequest(payload);
    const watch: Watch = { request, predicate: request.filter === undefined ? undefined : compileFilter(parseFilter(request.filter)) };
    this.counters.polls++;
    const { answer, news } = this.scan(watch);
    // A stopping node answers busy, so the relay waits before asking again instead of spinning.
    if (this.deps.stopped()) return this.now({ ...answer, busy: true });
    if (news || request.waitMs === 0) return this.now(answer);
    if (this.parked.size >= this.limits.parkedMax || this.parkedBytes + payload.byteLength > this.limits.parkedBytesMax) {
      this.counters.busy++;
      return this.now({ ...answer, busy: true });
    }
    return new Promise((resolve) => {
      const entry: Parked = {
        watch,
        bytes: payload.byteLength,
        answer: resolve,
        timer: this.deps.timers.at(this.deps.timers.now() + request.waitMs, () => this.release(entry)),
      };
      this.parked.add(entry);
      this.parkedBytes += entry.bytes;
      this.counters.parked++;
    });
  }

  private now(answer: WatchAnswer): Promise<Uint8Array> {
    this.counters.answered++;
    return Promise.resolve(encodeWatchAnswer(answer));
  }

  /** A write to `map` in `partition` was acknowledged here as owner: answer the polls waiting on it. */
  onChange(partition: number, map: string): void {
    // Called on every owner write: no copy of the (usually empty) set when nothing is parked.
    if (this.parked.size === 0) return;
    for (const entry of [...this.parked]) if (entry.watch.request.map === map && entry.watch.request.cursors.has(partition)) this.release(entry);
  }

  /** Answer every parked poll (the node stops). */
  stop(): void {
    for (const entry of [...this.parked]) this.release(entry);
  }

  private release(entry: Parked): void {
    if (!this.parked.delete(entry)) return;
    this.parkedBytes -= entry.bytes;
    entry.timer.cancel();
    this.counters.answered++;
    entry.answer(encodeWatchAnswer(this.scan(entry.watch).answer));
  }

  /** The answer as of now, and whether it has news (worth answering before the wait ends). */
  private scan({ request, predicate }: Watch): { answer: WatchAnswer; news: boolean } {
    const parts: WatchPart[] = [];
    let news = false;
    let bytes = 0;
    const match = (key: string): boolean => (request.key === null || key === request.key) && (request.prefix === null || key.startsWith(request.prefix));
    for (const [partition, cursor] of request.cursors) {
      if (this.deps.roleOf(partition) !== 'owner') {
        parts.push({ partition, owned: false });
        news = true;
        continue;
      }
      const mark = this.deps.markOf(partition);
      if (cursor === null) {
        // Start live: nothing to send, only where to ask from (an empty partition: everything).
        parts.push({ partition, owned: true, changes: [], cursor: mark ?? WHOLE, lost: false, complete: true });
        news = true;
        continue;
      }
      const collected = this.deps.store.collectedUpTo(partition) ?? -1;
      const lost = collected > cursor;
      if (bytes >= WATCH_ANSWER_BYTES_MAX) {
        // The answer is full: this partition waits for the next poll, which comes at once.
        parts.push({ partition, owned: true, changes: [], cursor, lost, complete: false });
        news = true;
        continue;
      }
      const seen = request.seen.get(partition);
      // Most polls find nothing new: the newest version stored tells so without a scan.
      const newest = this.deps.store.newestVersion(partition, request.map);
      const fresh = newest !== undefined && newest.millis > cursor && (seen === undefined || compareVersions(newest, seen) > 0);
      // What a merge stored after the cursor counts however old its version. The owner's mark
      // stands at the merge's stamp once it stored it, so it goes out once.
      const slots = fresh ? this.deps.store.slotsAbove(partition, request.map, cursor, match).filter(([, slot]) => seen === undefined || compareVersions(slot.version, seen) > 0 || stampOf(slot) > slot.version.millis) : [];
      slots.sort((a, b) => stampOf(a[1]) - stampOf(b[1]) || compareVersions(a[1].version, b[1].version));
      const taken = take(request.map, slots, WATCH_ANSWER_BYTES_MAX - bytes);
      bytes += taken.bytes;
      // Every change at or below the mark is stored, so all of them are in `slots`; a cut
      // answer vouches only up to where it stopped.
      const reach = taken.stoppedAt === undefined ? mark : Math.min(mark ?? taken.stoppedAt, taken.stoppedAt);
      // Deletes at or below `collected` cannot be told (the caller hears `lost`): once every
      // slot above the cursor went out, the next poll starts above them, or it would be
      // answered `lost` at once again and again.
      const next = Math.max(cursor, reach ?? cursor, lost && taken.stoppedAt === undefined ? collected : cursor);
      // A query sees each change as the entry or a leave; a partition asked whole has only matches to send.
      const changes = predicate === undefined ? taken.changes : taken.changes.map((c) => asQueryChange(predicate, c)).filter((c) => c.kind === 'put' || cursor !== WHOLE);
      parts.push({ partition, owned: true, changes, cursor: next, lost: lost || taken.split, complete: taken.stoppedAt === undefined });
      if (next > cursor || lost || taken.split) news = true;
    }
    return { answer: { parts, busy: false }, news };
  }
}

/**
 * The changes of `slots` (in stamp order, oldest first: see `stampOf`) that fit in `budget` bytes, whole milliseconds
 * only; `stoppedAt` the last millisecond taken whole when some were left out, `split`
 * when a single millisecond past the hard bound had to be cut (its rest is skipped).
 */
function take(map: string, slots: readonly [string, KvSlot][], budget: number): { changes: KvChange[]; bytes: number; stoppedAt?: number; split: boolean } {
  const changes: KvChange[] = [];
  let bytes = 0;
  let i = 0;
  while (i < slots.length) {
    const millis = stampOf(slots[i]![1]);
    let j = i;
    let groupBytes = 0;
    while (j < slots.length && stampOf(slots[j]![1]) === millis) groupBytes += recordSize(map, slots[j]![0], slots[j++]![1]);
    if (bytes + groupBytes > budget && changes.length > 0) return { changes, bytes, stoppedAt: stampOf(slots[i - 1]![1]), split: false };
    if (groupBytes > WATCH_ANSWER_HARD_BYTES_MAX) {
      for (let k = i; k < j && bytes + recordSize(map, slots[k]![0], slots[k]![1]) <= WATCH_ANSWER_HARD_BYTES_MAX; k++) {
        bytes += recordSize(map, slots[k]![0], slots[k]![1]);
        changes.push(asChange(map, slots[k]![0], slots[k]![1]));
      }
      return { changes, bytes, stoppedAt: millis, split: true };
    }
    for (let k = i; k < j; k++) changes.push(asChange(map, slots[k]![0], slots[k]![1]));
    bytes += groupBytes;
    i = j;
  }
  return { changes, bytes, split: false };
}
