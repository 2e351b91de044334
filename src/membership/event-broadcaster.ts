/**
 * Fan-out of events to subscribers with a bounded buffer each. Publishing never blocks
 * and never grows memory past the bounds: a subscriber that falls behind loses its oldest
 * events and is told how many, instead of slowing the protocol or the other subscribers.
 */
import { FlotillaError } from '../core/errors.js';

/**
 * Delivered to a subscriber, before its next event, after it lost `count` events. It
 * carries the catalog code so a consumer that forwards it (logs, an event stream) names
 * the condition the same way as every other failure.
 */
export interface EventsDropped {
  readonly type: 'EventsDropped';
  readonly code: 'FLO_EVENTS_DROPPED';
  readonly count: number;
}

/** Options of one subscription. */
export interface SubscribeOptions {
  /**
   * Events buffered for this subscriber before the oldest are dropped. Default 1,000; at
   * most EVENT_BUFFER_SIZE_MAX. Larger absorbs longer stalls at the cost of memory.
   */
  readonly bufferSize?: number;
}

/** Default per-subscriber buffer, in events. */
export const DEFAULT_EVENT_BUFFER_SIZE = 1_000;

/** Largest per-subscriber buffer accepted, in events. */
export const EVENT_BUFFER_SIZE_MAX = 1_000_000;

/** Configuration of an `EventBroadcaster`. */
export interface EventBroadcasterConfig {
  /** Subscribers open at once; one more is refused with FLO_QUEUE_FULL. Default 1,024. */
  readonly subscribersMax: number;
}

/** Defaults for `EventBroadcasterConfig`. */
export const EVENT_BROADCASTER_DEFAULTS: EventBroadcasterConfig = { subscribersMax: 1_024 };

/** One subscriber's view of the stream. */
export interface EventSubscription<E> {
  /**
   * The next item: an `EventsDropped` notice first if events were lost since the last
   * poll, else the oldest buffered event, else undefined. Undefined after `close`.
   */
  poll(): E | EventsDropped | undefined;
  /** Everything `poll` would return, in order, emptying the buffer. */
  drain(): (E | EventsDropped)[];
  /** Events buffered (not counting a pending drop notice). */
  readonly pending: number;
  /** Whether the subscription was closed. */
  readonly closed: boolean;
  /** Stops delivery and frees the buffer. Idempotent. */
  close(): void;
}

/** A bounded ring of events for one subscriber; it overwrites the oldest when full. */
class Subscriber<E> implements EventSubscription<E> {
  private ring: (E | undefined)[] = [];
  private head = 0;
  private count = 0;
  private dropped = 0;
  private isClosed = false;

  constructor(
    private readonly capacity: number,
    private readonly onClose: (s: Subscriber<E>) => void,
  ) {}

  get pending(): number {
    return this.count;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  push(event: E): void {
    if (this.count === this.capacity) {
      this.ring[this.head] = event;
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
      return;
    }
    const tail = (this.head + this.count) % this.capacity;
    // The ring grows lazily up to its capacity, so a large bound costs nothing until used.
    if (tail === this.ring.length) this.ring.push(event);
    else this.ring[tail] = event;
    this.count++;
  }

  poll(): E | EventsDropped | undefined {
    if (this.dropped > 0) {
      const notice: EventsDropped = { type: 'EventsDropped', code: 'FLO_EVENTS_DROPPED', count: this.dropped };
      this.dropped = 0;
      return notice;
    }
    if (this.count === 0) return undefined;
    const event = this.ring[this.head] as E;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return event;
  }

  drain(): (E | EventsDropped)[] {
    const out: (E | EventsDropped)[] = [];
    for (let item = this.poll(); item !== undefined; item = this.poll()) out.push(item);
    return out;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ring = [];
    this.head = 0;
    this.count = 0;
    this.dropped = 0;
    this.onClose(this);
  }
}

/**
 * Publishes events of type `E` to any number of pull-based subscriptions. Sans-IO: no
 * timers, no promises; the caller polls when it is ready.
 */
export class EventBroadcaster<E> {
  readonly config: EventBroadcasterConfig;
  private readonly subscribers = new Set<Subscriber<E>>();

  constructor(config: Partial<EventBroadcasterConfig> = {}) {
    this.config = { ...EVENT_BROADCASTER_DEFAULTS, ...config };
    const max = this.config.subscribersMax;
    if (!Number.isInteger(max) || max < 1) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'subscribersMax must be a positive integer', { subscribersMax: max });
    }
  }

  /** Open subscriptions. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Opens a subscription that receives every event published from now on. */
  subscribe(options: SubscribeOptions = {}): EventSubscription<E> {
    const bufferSize = options.bufferSize ?? DEFAULT_EVENT_BUFFER_SIZE;
    if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > EVENT_BUFFER_SIZE_MAX) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `bufferSize must be an integer in [1, ${EVENT_BUFFER_SIZE_MAX}]`, { bufferSize });
    }
    if (this.subscribers.size >= this.config.subscribersMax) {
      throw new FlotillaError('FLO_QUEUE_FULL', 'too many event subscribers', { subscribersMax: this.config.subscribersMax });
    }
    const subscriber = new Subscriber<E>(bufferSize, (s) => this.subscribers.delete(s));
    this.subscribers.add(subscriber);
    return subscriber;
  }

  /** Hands `event` to every open subscription; never blocks, never throws. */
  publish(event: E): void {
    for (const subscriber of this.subscribers) subscriber.push(event);
  }

  /** Closes every subscription. */
  closeAll(): void {
    for (const subscriber of [...this.subscribers]) subscriber.close();
  }
}
