/**
 * Messages a coordinator sends itself: the master's orders to itself as a member, and a
 * member's reports to itself as the master. They are delivered in rounds after each
 * input, so one input's local chain (start -> ready or refusal -> cancel) settles before
 * the input returns, without recursion.
 */
import { assert } from '../core/errors.js';
import type { Message } from '../protocol/messages.js';

/** A message to this node itself; `toMaster` marks a member-side report for the master side. */
export interface LoopbackItem {
  readonly message: Message;
  readonly toMaster: boolean;
}

/**
 * Rounds of local delivery per input beyond one per partition. A round causes another
 * through a short fixed chain (start -> ready or refusal -> cancel), and each refusal puts
 * one partition's retry off to later, so the chain ends within a round or two per partition.
 */
const LOOPBACK_EXTRA_ROUNDS_MAX = 16;

/** The queue of messages to self, and its bounded delivery. */
export class Loopback {
  private items: LoopbackItem[] = [];
  private readonly roundsMax: number;

  constructor(partitionCount: number) {
    this.roundsMax = 2 * partitionCount + LOOPBACK_EXTRA_ROUNDS_MAX;
  }

  push(message: Message, toMaster: boolean): void {
    this.items.push({ message, toMaster });
  }

  /** Deliver round after round until nothing is left; a chain that never ends is a bug. */
  drain(deliver: (item: LoopbackItem) => void): void {
    for (let round = 0; this.items.length > 0; round++) {
      assert(round < this.roundsMax, 'local deliveries keep causing more');
      const batch = this.items;
      this.items = [];
      for (const item of batch) deliver(item);
    }
  }
}
