/**
 * Binds the sharding layer to the node driver: partition messages and requests in,
 * the master's views and merge notices in, and one drain of the layer's machine output
 * per driver turn, with the driver's timer armed at the coordinator's next deadline.
 */
import type { Millis } from '../core/clock.js';
import type { FlotillaError } from '../core/errors.js';
import type { Channel } from '../core/machine.js';
import type { Address } from '../core/model.js';
import type { MembershipEvent } from '../membership/events.js';
import type { Message } from '../protocol/messages.js';
import { SHARDING_MESSAGE_TYPES, SHARDING_REQUEST_TYPES, type Sharding } from '../sharding/sharding.js';
import type { NodeContext, NodeService } from './service.js';

/** The sharding layer as a service of the node driver. */
export class ShardingService implements NodeService {
  readonly name = 'sharding';
  readonly messageTypes = SHARDING_MESSAGE_TYPES;
  readonly requestTypes = SHARDING_REQUEST_TYPES;
  private ctx: NodeContext | undefined;

  /**
   * @param readOnly the node's quorum verdict (true on the minority side of a split).
   * @param writeRefusal the host's gate on a partition's writes (etcd mode), if any.
   */
  constructor(
    readonly sharding: Sharding,
    private readonly readOnly: () => boolean,
    private readonly writeRefusal?: (partition: number) => FlotillaError | undefined,
  ) {}

  start(ctx: NodeContext): void {
    this.ctx = ctx;
    this.sharding.start({
      self: ctx.nodeId,
      logger: ctx.logger,
      timers: ctx.timers,
      send: (transmit) => ctx.send(transmit),
      request: (to, message, timeoutMs) => ctx.request(to, message, timeoutMs),
      membersView: () => ctx.membersView(),
      addressOf: (id) => ctx.addressOf(id),
      wake: () => ctx.wake(),
      readOnly: () => this.readOnly(),
      writeRefusal: (partition) => this.writeRefusal?.(partition),
      advertise: (tags) => ctx.updateTags?.(tags),
    });
    ctx.wake();
  }

  onMessage(from: Address, message: Message, _channel: Channel): void {
    this.sharding.handle(from, message);
  }

  onRequest(from: Address, message: Message): Promise<Message> {
    return this.sharding.answer(from, message);
  }

  onMembershipEvent(event: MembershipEvent): void {
    if (event.type === 'ViewChanged') this.sharding.onMembersView(event.view);
    else if (event.type === 'MergeStarted') {
      this.sharding.onMerge({
        previousMaster: event.local.masterId,
        previousMembers: event.local.memberCount,
        targetMaster: event.target.masterId,
        targetMembers: event.target.memberCount,
      });
    }
  }

  onTurn(now: Millis): void {
    const next = this.sharding.turn(now);
    if (next !== undefined) this.ctx?.wakeAt(next);
  }

  drain(deadline: Millis): Promise<void> {
    return this.sharding.drain(deadline);
  }

  stop(): Promise<void> {
    return this.sharding.stop();
  }
}
