/**
 * The admin API's view of migrations: those in flight on this node (as the master that
 * runs them, or as their source or destination) and a bounded list of recently finished
 * ones with how they ended.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { ReplicaRole } from '../protocol/messages.js';

/** From where this node sees a migration. */
export type MigrationPerspective = 'master' | 'source' | 'destination';

/** Where a migration is: copying, copied and waiting to commit, or over. */
export type MigrationState = 'running' | 'ready' | 'finished';

/**
 * How a migration ended: committed; called off (plan change, a participant left, a sibling
 * failed); timed out; failed on a participant; or dropped because the master that ran it
 * lost its place.
 */
export type MigrationOutcome = 'completed' | 'cancelled' | 'timed-out' | 'failed' | 'abandoned';

/** One migration as the admin API lists it. */
export interface MigrationRecord {
  readonly migrationId: string;
  readonly partition: number;
  readonly source: NodeId;
  readonly destination: NodeId;
  readonly role: ReplicaRole;
  readonly perspective: MigrationPerspective;
  readonly state: MigrationState;
  readonly startedAt: Millis;
  readonly finishedAt?: Millis;
  readonly outcome?: MigrationOutcome;
  readonly reason?: string;
}

/** Migrations started and finished over this node's life, by perspective (and outcome). */
export interface MigrationTotals {
  readonly started: Readonly<Record<MigrationPerspective, number>>;
  readonly finished: Readonly<Record<MigrationPerspective, Readonly<Record<MigrationOutcome, number>>>>;
}

const PERSPECTIVES: readonly MigrationPerspective[] = ['master', 'source', 'destination'];

function zeroOutcomes(): Record<MigrationOutcome, number> {
  return { completed: 0, cancelled: 0, 'timed-out': 0, failed: 0, abandoned: 0 };
}

/** What `MigrationHistory.start` needs. */
export type MigrationStartRecord = Pick<MigrationRecord, 'migrationId' | 'partition' | 'source' | 'destination' | 'role' | 'perspective' | 'startedAt'>;

/**
 * Running migrations (bounded by the coordinator's in-flight maxima) and the last
 * `historyMax` finished ones.
 */
export class MigrationHistory {
  private readonly running = new Map<string, MigrationRecord>();
  private finished: MigrationRecord[] = [];
  private readonly started = { master: 0, source: 0, destination: 0 };
  private readonly ended = { master: zeroOutcomes(), source: zeroOutcomes(), destination: zeroOutcomes() };

  constructor(private readonly historyMax: number) {}

  /** Record a migration this node now takes part in. */
  start(record: MigrationStartRecord): void {
    if (!this.running.has(keyOf(record.perspective, record.migrationId))) this.started[record.perspective]++;
    this.running.set(keyOf(record.perspective, record.migrationId), { ...record, state: 'running' });
  }

  /** Mark a running migration as copied and waiting to commit. */
  markReady(perspective: MigrationPerspective, migrationId: string): void {
    const key = keyOf(perspective, migrationId);
    const record = this.running.get(key);
    if (record !== undefined) this.running.set(key, { ...record, state: 'ready' });
  }

  /** Move a running migration to the finished list. Unknown ids are ignored. */
  finish(perspective: MigrationPerspective, migrationId: string, outcome: MigrationOutcome, now: Millis, reason?: string): void {
    const key = keyOf(perspective, migrationId);
    const record = this.running.get(key);
    if (record === undefined) return;
    this.running.delete(key);
    this.ended[perspective][outcome]++;
    if (this.historyMax === 0) return;
    const done: MigrationRecord = reason === undefined
      ? { ...record, state: 'finished', finishedAt: now, outcome }
      : { ...record, state: 'finished', finishedAt: now, outcome, reason };
    this.finished.push(done);
    if (this.finished.length > this.historyMax * 2) this.finished = this.finished.slice(-this.historyMax);
  }

  /** Running migrations (oldest first), then the finished ones (oldest first). */
  list(): MigrationRecord[] {
    const running = [...this.running.values()].sort((a, b) => a.startedAt - b.startedAt);
    return [...running, ...this.finished.slice(-this.historyMax)];
  }

  /** Monotonic counts of every migration started and finished here. */
  totals(): MigrationTotals {
    const finished = Object.fromEntries(PERSPECTIVES.map((p) => [p, { ...this.ended[p] }])) as Record<MigrationPerspective, Record<MigrationOutcome, number>>;
    return { started: { ...this.started }, finished };
  }

  /** Number of running records. */
  get runningCount(): number {
    return this.running.size;
  }
}

function keyOf(perspective: MigrationPerspective, migrationId: string): string {
  return `${perspective}:${migrationId}`;
}
