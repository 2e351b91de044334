/**
 * The layout of one message type on the wire: how many positional fields its body
 * holds, how to lay a message out as those fields, and how to check and rebuild it from
 * them. `codec.ts` holds one layout per type.
 */
import type { Message, MessageOf, MessageType } from './messages.js';
import type { ReadContext } from './validate.js';

/** Encode/decode pair for one message type. */
export interface MessageLayout<M extends Message> {
  /** Number of positional fields in the body array (the type itself is not one). */
  readonly arity: number;
  /**
   * Lay the message out as its fields. Never throws on a malformed message: a field of
   * the wrong shape passes through so that `fromWire` rejects it with its path.
   */
  toWire(m: M): unknown[];
  /** Check `f` (already known to hold `arity` items) and rebuild the message. */
  fromWire(ctx: ReadContext, f: readonly unknown[]): M;
}

/** One codec per message type; the mapped type makes a missing one a compile error. */
export type MessageLayoutTable = { readonly [T in MessageType]: MessageLayout<MessageOf<T>> };
