/**
 * Traffic counters of the simulated network: messages and bytes per message type and
 * per node, and drops by reason. Bytes come from an injected sizer, optionally sampled
 * per type because encoding every message costs more CPU than the simulation itself.
 */
import type { Address } from '../src/core/model.js';

/** Why a message did not reach its destination's machine. */
export type DropReason = 'loss' | 'partition' | 'down' | 'unroutable' | 'overflow';

const DROP_REASONS: readonly DropReason[] = ['loss', 'partition', 'down', 'unroutable', 'overflow'];

/** Traffic of one message type. */
export interface TypeTraffic {
  readonly messages: number;
  /** Bytes sent (estimated from samples when sampling is on). */
  readonly bytes: number;
}

/** Traffic of one node. */
export interface NodeTraffic {
  readonly sentMessages: number;
  readonly sentBytes: number;
  readonly receivedMessages: number;
  readonly receivedBytes: number;
  /** Messages addressed to this node that were dropped, for any reason. */
  readonly droppedMessages: number;
}

/** A snapshot of the network counters; keys are sorted so snapshots compare stably. */
export interface NetworkStats {
  readonly sentMessages: number;
  readonly sentBytes: number;
  readonly deliveredMessages: number;
  readonly duplicatedMessages: number;
  readonly droppedMessages: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly byType: Readonly<Record<string, TypeTraffic>>;
  readonly byNode: Readonly<Record<Address, NodeTraffic>>;
  /** True when byte figures are extrapolated from a sample of messages. */
  readonly bytesEstimated: boolean;
}

interface TypeCell {
  messages: number;
  bytes: number;
  sampled: number;
  sampledBytes: number;
}

interface NodeCell {
  sentMessages: number;
  sentBytes: number;
  receivedMessages: number;
  receivedBytes: number;
  droppedMessages: number;
}

/** Mutable counters behind `NetworkStats`. */
export class NetworkCounters<M> {
  private types = new Map<string, TypeCell>();
  private nodes = new Map<Address, NodeCell>();
  private dropped = zeroDrops();
  private sentCount = 0;
  private deliveredCount = 0;
  private duplicatedCount = 0;
  private estimated = false;

  constructor(
    private readonly sizeOf: ((message: M) => number) | undefined,
    private readonly sampleEvery: number,
  ) {}

  /** Count one sent message; `knownSize` skips the sizer when the bytes are at hand. */
  sent(from: Address, type: string, message: M, knownSize?: number): void {
    const cell = this.typeCell(type);
    let size = 0;
    if (knownSize !== undefined) {
      size = knownSize;
      cell.sampled++;
      cell.sampledBytes += size;
    } else if (this.sizeOf !== undefined) {
      if (cell.sampled === 0 || mix32(cell.messages) % this.sampleEvery === 0) {
        size = this.sizeOf(message);
        cell.sampled++;
        cell.sampledBytes += size;
      } else {
        this.estimated = true;
        size = cell.sampledBytes / cell.sampled;
      }
    }
    cell.messages++;
    cell.bytes += size;
    this.sentCount++;
    const node = this.nodeCell(from);
    node.sentMessages++;
    node.sentBytes += size;
  }

  /** Count one message handed to its destination. */
  received(to: Address, type: string): void {
    this.deliveredCount++;
    const cell = this.types.get(type);
    const node = this.nodeCell(to);
    node.receivedMessages++;
    if (cell !== undefined && cell.sampled > 0) node.receivedBytes += cell.sampledBytes / cell.sampled;
  }

  /** Count one extra copy made by duplication. */
  duplicated(): void {
    this.duplicatedCount++;
  }

  /** Count one message lost on the way to `to`. */
  drop(reason: DropReason, to: Address): void {
    this.dropped[reason]++;
    this.nodeCell(to).droppedMessages++;
  }

  /** Zero every counter. */
  reset(): void {
    this.types = new Map();
    this.nodes = new Map();
    this.dropped = zeroDrops();
    this.sentCount = 0;
    this.deliveredCount = 0;
    this.duplicatedCount = 0;
    this.estimated = false;
  }

  /** Immutable copy with sorted keys. */
  snapshot(): NetworkStats {
    const byType: Record<string, TypeTraffic> = {};
    let sentBytes = 0;
    for (const key of [...this.types.keys()].sort()) {
      const c = this.types.get(key)!;
      byType[key] = { messages: c.messages, bytes: Math.round(c.bytes) };
      sentBytes += c.bytes;
    }
    const byNode: Record<Address, NodeTraffic> = {};
    for (const key of [...this.nodes.keys()].sort()) {
      const c = this.nodes.get(key)!;
      byNode[key] = { ...c, sentBytes: Math.round(c.sentBytes), receivedBytes: Math.round(c.receivedBytes) };
    }
    const droppedMessages = DROP_REASONS.reduce((sum, r) => sum + this.dropped[r], 0);
    return {
      sentMessages: this.sentCount,
      sentBytes: Math.round(sentBytes),
      deliveredMessages: this.deliveredCount,
      duplicatedMessages: this.duplicatedCount,
      droppedMessages,
      dropped: { ...this.dropped },
      byType,
      byNode,
      bytesEstimated: this.estimated,
    };
  }

  private typeCell(type: string): TypeCell {
    let cell = this.types.get(type);
    if (cell === undefined) {
      cell = { messages: 0, bytes: 0, sampled: 0, sampledBytes: 0 };
      this.types.set(type, cell);
    }
    return cell;
  }

  private nodeCell(address: Address): NodeCell {
    let cell = this.nodes.get(address);
    if (cell === undefined) {
      cell = { sentMessages: 0, sentBytes: 0, receivedMessages: 0, receivedBytes: 0, droppedMessages: 0 };
      this.nodes.set(address, cell);
    }
    return cell;
  }
}

/**
 * A 32-bit integer hash: picking samples by hash rather than by every Nth index keeps the
 * sample from lining up with periodic traffic (round-robin probes, rounds of gossip).
 */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function zeroDrops(): Record<DropReason, number> {
  return { loss: 0, partition: 0, down: 0, unroutable: 0, overflow: 0 };
}
