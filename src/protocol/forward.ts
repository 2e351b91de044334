/**
 * Building OpForward messages. An operation sent on towards its partition's owner is
 * wrapped once; a node that must forward it again raises `hops` on the same wrapper, so
 * the original bytes are never nested and a routing loop ends after MAX_FORWARD_HOPS.
 */
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { OpForward } from './messages.js';
import { MAX_FORWARD_HOPS } from './limits.js';
import { checked, ENCODE_CONTEXT } from './validate.js';
import { opForwardCodec } from './wire-partitions.js';

/** What the first forward of an operation needs to know. */
export interface ForwardContext {
  /** Id of the operation, for replies and deduplication. */
  readonly opId: string;
  /** Partition the operation targets. */
  readonly partition: number;
  /** The node that first received the operation (where replies go). */
  readonly origin: NodeId;
  /** The operation as it was encoded, carried as it is. */
  readonly opBytes: Uint8Array;
}

/** True when `value` is an OpForward (as opposed to an original operation). */
export function isOpForward(value: unknown): value is OpForward {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'OpForward';
}

/** True when `forward` may be forwarded once more without passing MAX_FORWARD_HOPS. */
export function canForward(forward: OpForward): boolean {
  return forward.hops < MAX_FORWARD_HOPS;
}

/**
 * The OpForward to send on. Given an OpForward, returns a copy with `hops + 1` (`ctx` is
 * ignored); given anything else (the original operation), wraps `ctx.opBytes` with
 * `hops = 1`. Throws FLO_INVALID_ARGUMENT past MAX_FORWARD_HOPS (the caller answers
 * NOT_OWNER instead) or for invalid fields.
 */
export function forwardOp(forward: OpForward): OpForward;
export function forwardOp(op: unknown, ctx: ForwardContext): OpForward;
export function forwardOp(opOrForward: unknown, ctx?: ForwardContext): OpForward {
  let next: OpForward;
  if (isOpForward(opOrForward)) {
    if (!canForward(opOrForward)) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `operation already forwarded ${opOrForward.hops} times`, {
        opId: opOrForward.opId,
        hops: opOrForward.hops,
        maxForwardHops: MAX_FORWARD_HOPS,
      });
    }
    next = { ...opOrForward, hops: opOrForward.hops + 1 };
  } else {
    if (ctx === undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'forwarding an operation needs its context');
    next = { type: 'OpForward', opId: ctx.opId, partition: ctx.partition, origin: ctx.origin, hops: 1, op: ctx.opBytes };
  }
  checked(ENCODE_CONTEXT, 'OpForward', () => opForwardCodec.fromWire(ENCODE_CONTEXT, opForwardCodec.toWire(next)));
  return next;
}
