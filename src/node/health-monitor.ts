/**
 * A built-in service that runs the node's health checks on a period and keeps the
 * `health` gossip tag in step with the worst result, so peers see a sick node without
 * asking it. Hosted like any other service: it only uses `wakeAt` and `onTick`.
 */
import type { Millis } from '../core/clock.js';
import type { Message, MessageType } from '../protocol/messages.js';
import type { NodeContext, NodeService } from './service.js';

/** The periodic health refresher. */
export class HealthMonitor implements NodeService {
  readonly name = 'health';
  readonly messageTypes: readonly MessageType[] = [];
  private ctx: NodeContext | undefined;

  constructor(
    private readonly intervalMs: number,
    /** Runs the checks and updates the tag; called inside a driver turn. */
    private readonly refresh: () => void,
  ) {}

  start(ctx: NodeContext): void {
    this.ctx = ctx;
    ctx.wakeAt(ctx.now());
  }

  onMessage(_from: string, _message: Message): void {
    // No message types are claimed, so nothing is ever routed here.
  }

  onTick(now: Millis): void {
    this.refresh();
    this.ctx?.wakeAt(now + this.intervalMs);
  }

  stop(): void {
    this.ctx = undefined;
  }
}
