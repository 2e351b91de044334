/**
 * The node's membership event stream for applications: the bounded, pull-based
 * `EventBroadcaster` of the membership layer, plus a way to wait for the next event
 * (`next()`, `for await`). A slow subscriber loses its oldest events and is told how
 * many; it never slows the protocol.
 */
import { FlotillaError } from '../core/errors.js';
import { EventBroadcaster, type EventsDropped, type EventSubscription, type SubscribeOptions } from '../membership/event-broadcaster.js';
import type { MembershipEvent } from '../membership/events.js';

/** An item of the stream: an event, or a notice that events were dropped. */
export type NodeEventItem = MembershipEvent | EventsDropped;

/** Most `next()` calls waiting at once over all subscriptions. */
export const EVENT_WAITERS_MAX = 4_096;

/** One subscriber's stream. */
export interface NodeEventSubscription extends EventSubscription<MembershipEvent> {
  /**
   * The next item, waiting for one up to `timeoutMs` (default: no limit). Resolves
   * undefined on timeout or when the subscription (or the node) is closed.
   */
  next(timeoutMs?: number): Promise<NodeEventItem | undefined>;
  /** Every item until the subscription is closed. */
  [Symbol.asyncIterator](): AsyncIterator<NodeEventItem>;
}

/** What `node.events` offers. */
export interface NodeEvents {
  /** Opens a bounded subscription to every membership event from now on. */
  subscribe(options?: SubscribeOptions): NodeEventSubscription;
}

type Waiter = () => boolean;

/** The stream behind `node.events`. */
export class NodeEventStream implements NodeEvents {
  private readonly broadcaster = new EventBroadcaster<MembershipEvent>();
  private readonly waiters = new Set<Waiter>();

  subscribe(options: SubscribeOptions = {}): NodeEventSubscription {
    return new Subscription(this.broadcaster.subscribe(options), this);
  }

  /** Hands `event` to every subscription and wakes waiting readers. */
  publish(event: MembershipEvent): void {
    this.broadcaster.publish(event);
    this.wakeReaders();
  }

  /** Closes every subscription; waiting readers get undefined. */
  closeAll(): void {
    this.broadcaster.closeAll();
    this.wakeReaders();
  }

  /** Registers a reader that is retried on every publish until it returns true. */
  addWaiter(waiter: Waiter): () => void {
    if (this.waiters.size >= EVENT_WAITERS_MAX) throw new FlotillaError('FLO_QUEUE_FULL', `more than ${EVENT_WAITERS_MAX} readers waiting for events`);
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }

  /** Retries every waiting reader (after a publish or a close). */
  wakeReaders(): void {
    for (const waiter of [...this.waiters]) if (waiter()) this.waiters.delete(waiter);
  }
}

class Subscription implements NodeEventSubscription {
  constructor(
    private readonly inner: EventSubscription<MembershipEvent>,
    private readonly stream: NodeEventStream,
  ) {}

  get pending(): number {
    return this.inner.pending;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  poll(): NodeEventItem | undefined {
    return this.inner.poll();
  }

  drain(): NodeEventItem[] {
    return this.inner.drain();
  }

  close(): void {
    this.inner.close();
    this.stream.wakeReaders();
  }

  next(timeoutMs?: number): Promise<NodeEventItem | undefined> {
    const ready = this.inner.poll();
    if (ready !== undefined || this.inner.closed) return Promise.resolve(ready);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const remove = this.stream.addWaiter(() => {
        const item = this.inner.poll();
        if (item === undefined && !this.inner.closed) return false;
        if (timer !== undefined) clearTimeout(timer);
        resolve(item);
        return true;
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          remove();
          resolve(undefined);
        }, timeoutMs);
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NodeEventItem> {
    for (;;) {
      const item = await this.next();
      if (item === undefined) return;
      yield item;
    }
  }
}
