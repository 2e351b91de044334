/**
 * One entity call as the runtime sees it, and its call chain: the entities the chain
 * already holds (its turn is suspended waiting for this call). A call to an entity in
 * its own chain runs at once inside the held turn (re-entrancy); the chain's length is
 * the call depth, bounded by `callDepthMax`.
 */
import type { CallMeta } from './ref.js';

/** An entity call. */
export interface EntityCall {
  readonly type: string;
  readonly id: string;
  readonly handler: string;
  readonly args: readonly unknown[];
  /** Caller metadata (trait hooks read it). */
  readonly meta: CallMeta;
  /** Keys (`type/id`) of the entities whose turns this call runs inside, outermost first. */
  readonly chain: readonly string[];
  /**
   * Unique per logical call, the same on every retry: the owner answers a retried call
   * from the first attempt's outcome instead of running it twice. Undefined: no dedup.
   */
  readonly callId?: string;
}

/** The key of an entity: `type/id` (also what its partition is hashed from). */
export function entityKey(type: string, id: string): string {
  return `${type}/${id}`;
}

/** Sends a call to wherever its entity lives (the local runtime, or the cluster). */
export type CallDispatcher = (call: EntityCall) => Promise<unknown>;
