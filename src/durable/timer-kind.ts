/**
 * What a kind of durable timer does when it fires. The firing is one storage commit that
 * removes the timer row behind the partition's fence, together with whatever the kind
 * adds to it: those changes happen exactly once. `deliver` runs before that commit and
 * may run again if the commit fails or the owner crashes in between (at least once), so
 * it must be idempotent.
 */
import type { DurableCommit } from '../storage/durable.js';

/** A timer as its kind sees it, with its payload decoded. */
export interface FiredTimer {
  readonly id: string;
  readonly partition: number;
  readonly dueAt: number;
  readonly kind: string;
  readonly payload: unknown;
}

/** What the firing commit may change besides removing the timer. */
export type FiringChanges = Pick<DurableCommit, 'records' | 'workflow' | 'journal' | 'timersSet'>;

/** A registered kind of timer. */
export interface TimerKind {
  /** Matches `DurableTimer.kind`; unique per node, the same on every node. */
  readonly kind: string;
  /** Side effect before the firing commit (at least once; idempotent). */
  deliver?(timer: FiredTimer): Promise<void>;
  /** Changes committed with the timer's removal (exactly once). */
  changes?(timer: FiredTimer): Promise<FiringChanges | undefined>;
  /** After the firing commit: the timer is gone for good. */
  fired?(timer: FiredTimer, firedAt: number): void;
}
