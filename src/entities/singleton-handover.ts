/**
 * The new owner's half of a handover: before it claims the fence, it waits (bounded) until
 * the node that led the singleton before says it no longer runs it. A planned move already
 * stops the old leader before the copy commits; this covers the ownership changes that
 * come as a plain table change (a backup promoted by a rebalance), so the function never
 * runs on two live nodes at once. A predecessor gone from the members view (crashed, left)
 * is not waited for: the fence stops its writes.
 */
import type { NodeId } from '../core/model.js';
import { sleep } from '../core/timers.js';
import type { ShardContext } from '../sharding/service.js';
import type { SingletonRecord } from './singleton-record.js';
import { decodeValue, encodeValue } from './state-codec.js';

/** `ServiceRequest.service` of "do you still run singleton X?" (answered by any node). */
export const SINGLETON_LEADING_SERVICE = 'singletons.leading';
/** Pause between two questions to the predecessor, ms. */
export const PREDECESSOR_POLL_MS = 50;
/** Added to the singleton's handover wait: the longest the new owner waits for its predecessor, ms. */
export const PREDECESSOR_SLACK_MS = 1_000;
/** Bound on one question to the predecessor, ms. */
export const PREDECESSOR_ASK_TIMEOUT_MS = 1_000;

/** What the wait needs. */
export interface PredecessorWait {
  readonly name: string;
  readonly partition: number;
  readonly self: NodeId;
  readonly epoch: number;
  /** The record as stored before this node's takeover. */
  readonly record: SingletonRecord;
  /** The singleton's handover wait, ms. */
  readonly handoverWaitMs: number;
  /** False once this node should no longer take over (the wait then ends early). */
  stillWanted(): boolean;
}

/** Resolves once the previous leader stopped, is gone, or the bounded wait is over; returns whether it waited it out. */
export async function awaitPredecessor(ctx: ShardContext, wait: PredecessorWait): Promise<'free' | 'timed-out'> {
  const open = wait.record.history.find((e) => e.lostLeadershipAt === null && e.runner !== wait.self && e.epoch < wait.epoch);
  if (open === undefined) return 'free';
  const deadline = ctx.timers.now() + wait.handoverWaitMs + PREDECESSOR_SLACK_MS;
  let n = 0;
  while (wait.stillWanted() && !ctx.stopped()) {
    const address = ctx.addressOf(open.runner);
    if (address === undefined) return 'free';
    try {
      const reply = await ctx.request(
        address,
        { type: 'ServiceRequest', service: SINGLETON_LEADING_SERVICE, partition: wait.partition, opId: `${wait.self}/leading/${wait.epoch}/${++n}`, forward: false, payload: encodeValue(wait.name) },
        PREDECESSOR_ASK_TIMEOUT_MS,
      );
      if (reply.type === 'ServiceResponse' && reply.ok && reply.payload !== undefined && decodeValue(reply.payload) === false) return 'free';
    } catch {
      // Unreachable for now: ask again until the view drops it or the wait is over.
    }
    if (ctx.timers.now() >= deadline) return 'timed-out';
    await sleep(ctx.timers, PREDECESSOR_POLL_MS);
  }
  return 'free';
}
