/**
 * Exact byte accounting for piggybacked gossip, so the membership layer can fill a Ping,
 * PingReq, Ack or Gossip with as many updates as fit in a datagram budget (never past
 * GOSSIP_MESSAGE_BYTES_MAX, nor past GOSSIP_UPDATES_MAX updates) without trial encoding.
 */
import { FlotillaError } from '../core/errors.js';
import type { Ack, Gossip, GossipUpdate, Ping, PingReq } from './messages.js';
import { encodedSize } from './codec.js';
import { GOSSIP_MESSAGE_BYTES_MAX, GOSSIP_UPDATES_MAX } from './limits.js';
import { checked, ENCODE_CONTEXT } from './validate.js';
import { readUpdate, updateToWire } from './wire-records.js';
import { containerHeaderBytes, wireSize } from './wire-size.js';

/** The messages that carry gossip updates. */
export type UpdateCarrier = Ping | PingReq | Ack | Gossip;

/**
 * Bytes `update` adds to a message's updates array (exact). Throws FLO_INVALID_ARGUMENT
 * for an update the codec would refuse.
 */
export function encodedUpdateSize(update: GossipUpdate): number {
  const wire = updateToWire(update);
  checked(ENCODE_CONTEXT, 'update', () => readUpdate(wire));
  return wireSize(wire);
}

/**
 * Tracks how many more updates fit in one message. Start from the message's size with no
 * updates; `tryAdd` each candidate's `encodedUpdateSize` in priority order. The updates
 * array header grows from 1 to 3 bytes at the 16th update, which `tryAdd` accounts for.
 */
export class UpdateBudget {
  private updateCount = 0;
  private bytes: number;
  private readonly budgetBytes: number;

  /**
   * @param baseBytes encoded size of the message with an empty updates array
   * @param budgetBytes the most the encoded message may take; clamped to GOSSIP_MESSAGE_BYTES_MAX
   */
  constructor(baseBytes: number, budgetBytes: number) {
    if (!Number.isSafeInteger(baseBytes) || baseBytes < 1 || !Number.isSafeInteger(budgetBytes) || budgetBytes < 1) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', 'baseBytes and budgetBytes must be positive integers', {
        baseBytes,
        budgetBytes,
      });
    }
    this.budgetBytes = Math.min(budgetBytes, GOSSIP_MESSAGE_BYTES_MAX);
    this.bytes = baseBytes;
  }

  /** A budget for `message` (its current updates ignored) within `budgetBytes`. */
  static forMessage(message: UpdateCarrier, budgetBytes: number): UpdateBudget {
    return new UpdateBudget(encodedSize({ ...message, updates: [] }), budgetBytes);
  }

  /** Updates accepted so far. */
  get count(): number {
    return this.updateCount;
  }

  /** Encoded size of the message with the accepted updates, in bytes. */
  get usedBytes(): number {
    return this.bytes;
  }

  /** True when no further update can be accepted, whatever its size. */
  get full(): boolean {
    return this.updateCount >= GOSSIP_UPDATES_MAX || this.bytes >= this.budgetBytes;
  }

  /** Accept an update of `updateBytes` if it fits; returns whether it was accepted. */
  tryAdd(updateBytes: number): boolean {
    if (this.updateCount >= GOSSIP_UPDATES_MAX) return false;
    const headerGrowth = containerHeaderBytes(this.updateCount + 1) - containerHeaderBytes(this.updateCount);
    const next = this.bytes + headerGrowth + updateBytes;
    if (next > this.budgetBytes) return false;
    this.bytes = next;
    this.updateCount++;
    return true;
  }
}

/**
 * `message` carrying as many of `candidates` as fit in `budgetBytes`, taken in order and
 * skipping any that do not fit (a smaller one later may). Returns the filled message and
 * the indexes of the candidates it carries; `message.updates` is replaced.
 */
export function fillUpdates<M extends UpdateCarrier>(
  message: M,
  candidates: readonly GossipUpdate[],
  budgetBytes: number,
): { message: M; taken: number[] } {
  const budget = UpdateBudget.forMessage(message, budgetBytes);
  const updates: GossipUpdate[] = [];
  const taken: number[] = [];
  for (let i = 0; i < candidates.length && !budget.full; i++) {
    const update = candidates[i]!;
    if (budget.tryAdd(encodedUpdateSize(update))) {
      updates.push(update);
      taken.push(i);
    }
  }
  return { message: { ...message, updates }, taken };
}
