/**
 * What the entity runtime counts and reports: calls by outcome and latency bucket,
 * activations, saves, and the shapes of its introspection answers.
 */

/** One active entity, for introspection. */
export interface ActiveEntity {
  readonly type: string;
  readonly id: string;
  readonly partition: number;
}

/** Active entities per type and partition. */
export interface ActiveEntityCount {
  readonly type: string;
  readonly partition: number;
  readonly count: number;
}

/** Counters of the runtime. */
export interface EntityRuntimeStats {
  calls: number;
  failedCalls: number;
  activations: number;
  passivations: number;
  evictions: number;
  loads: number;
  writes: number;
  reentrantCalls: number;
  dedupedCalls: number;
  /** Calls refused because the entity's mailbox was full (FLO_MAILBOX_FULL). */
  mailboxRejections: number;
  /** Saves refused by storage because a newer owner holds the partition (stale epoch). */
  staleEpochWrites: number;
  /** Every `invoke` by how it ended: `ok`, the error code, or `other` for an uncoded error. */
  callOutcomes: Record<string, number>;
  /** Calls by duration, in ms: `callLatencyCounts[i]` counts those within `CALL_LATENCY_BOUNDS_MS[i]`; the last slot, longer ones. */
  callLatencyCounts: number[];
  /** Sum of every call's duration, in ms. */
  callLatencySumMs: number;
}

/** Upper bounds of the call latency buckets, in ms (the runtime's clock ticks in ms). */
export const CALL_LATENCY_BOUNDS_MS: readonly number[] = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** Zeroed counters. */
export function newRuntimeStats(): EntityRuntimeStats {
  return {
    calls: 0,
    failedCalls: 0,
    activations: 0,
    passivations: 0,
    evictions: 0,
    loads: 0,
    writes: 0,
    reentrantCalls: 0,
    dedupedCalls: 0,
    mailboxRejections: 0,
    staleEpochWrites: 0,
    callOutcomes: {},
    callLatencyCounts: new Array<number>(CALL_LATENCY_BOUNDS_MS.length + 1).fill(0),
    callLatencySumMs: 0,
  };
}

/** Counts one finished call: its outcome (`ok` or an error code) and how long it took. */
export function recordCall(stats: EntityRuntimeStats, outcome: string, elapsedMs: number): void {
  stats.callOutcomes[outcome] = (stats.callOutcomes[outcome] ?? 0) + 1;
  const bucket = CALL_LATENCY_BOUNDS_MS.findIndex((bound) => elapsedMs <= bound);
  stats.callLatencyCounts[bucket === -1 ? CALL_LATENCY_BOUNDS_MS.length : bucket]!++;
  stats.callLatencySumMs += elapsedMs;
}
