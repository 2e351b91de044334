/**
 * The driver's side of the service contract: checks that the hosted services' message
 * and request types do not overlap (nor claim membership messages), routes each inbound
 * message and request to its one service, runs their wake-ups, fans membership events
 * out to them, and drives their drain and stop phases with bounds. A throwing service is
 * logged and counted; it never takes the node down.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Channel } from '../core/machine.js';
import type { Address } from '../core/model.js';
import type { MembershipEvent } from '../membership/events.js';
import { MEMBERSHIP_MESSAGE_TYPES } from '../membership/index.js';
import type { Message, MessageType } from '../protocol/messages.js';
import { attempt, waitBounded } from './bounded-wait.js';
import type { NodeContext, NodeLogger, NodeService } from './service.js';

/** Most services one node hosts. */
export const SERVICES_MAX = 32;

/** Hosted services with their routes and wake-up times. */
export class ServiceHost {
  private readonly byMessage = new Map<MessageType, number>();
  private readonly byRequest = new Map<MessageType, number>();
  private readonly wakeAts: (Millis | undefined)[];
  private failures = 0;

  constructor(
    readonly services: readonly NodeService[],
    private readonly logger: NodeLogger,
  ) {
    if (services.length > SERVICES_MAX) throw new FlotillaError('FLO_CONFIG_INVALID', `at most ${SERVICES_MAX} services`, { count: services.length });
    const names = new Set<string>();
    services.forEach((service, index) => {
      if (typeof service.name !== 'string' || service.name.length === 0) throw new FlotillaError('FLO_CONFIG_INVALID', `service #${index} has no name`);
      if (names.has(service.name)) throw new FlotillaError('FLO_CONFIG_INVALID', `two services are named ${service.name}`);
      names.add(service.name);
      this.claim(this.byMessage, service.messageTypes, index, 'message');
      this.claim(this.byRequest, service.requestTypes ?? [], index, 'request');
    });
    this.wakeAts = services.map(() => undefined);
  }

  /** Service callbacks that threw (or rejected) so far. */
  get errors(): number {
    return this.failures;
  }

  /** Starts every service in order; the first failure stops the start and is rethrown. */
  async startAll(contextFor: (service: NodeService, index: number) => NodeContext): Promise<void> {
    for (const [index, service] of this.services.entries()) await service.start(contextFor(service, index));
  }

  /** Whether some service takes one-way messages of `type`. */
  takesMessage(type: MessageType): boolean {
    return this.byMessage.has(type);
  }

  /** Hands a one-way message to its service; false when no service takes its type. */
  deliverMessage(from: Address, message: Message, channel: Channel): boolean {
    const index = this.byMessage.get(message.type);
    if (index === undefined) return false;
    const service = this.services[index]!;
    this.guard(service, 'onMessage', () => service.onMessage(from, message, channel));
    return true;
  }

  /** Answers a request through its service; FLO_INVALID_ARGUMENT when nobody answers its type. */
  async answer(from: Address, message: Message): Promise<Message> {
    const index = this.byRequest.get(message.type);
    const service = index === undefined ? undefined : this.services[index];
    if (service?.onRequest === undefined) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `no service answers ${message.type} requests`, { type: message.type });
    }
    return service.onRequest(from, message);
  }

  /** Records a wake-up request of service `index` (the latest call wins). */
  wakeAt(index: number, at: Millis): void {
    this.wakeAts[index] = at;
  }

  /** The earliest wake-up any service asked for. */
  nextWake(): Millis | undefined {
    let best: Millis | undefined;
    for (const at of this.wakeAts) if (at !== undefined && (best === undefined || at < best)) best = at;
    return best;
  }

  /** Calls `onTick` of every service whose wake-up time has come. */
  tickDue(now: Millis): void {
    this.services.forEach((service, index) => {
      const at = this.wakeAts[index];
      if (at === undefined || at > now) return;
      this.wakeAts[index] = undefined;
      if (service.onTick !== undefined) this.guard(service, 'onTick', () => service.onTick?.(now));
    });
  }

  /** Calls `onTurn` of every service that has one. */
  turnAll(now: Millis): void {
    for (const service of this.services) {
      if (service.onTurn !== undefined) this.guard(service, 'onTurn', () => service.onTurn?.(now));
    }
  }

  /** Hands a membership event to every service, in order. */
  deliverEvent(event: MembershipEvent): void {
    for (const service of this.services) {
      if (service.onMembershipEvent !== undefined) this.guard(service, 'onMembershipEvent', () => service.onMembershipEvent?.(event));
    }
  }

  /** Lets every service hand over its work, all at once, for at most `timeoutMs`. */
  async drainAll(deadline: Millis, timeoutMs: number): Promise<void> {
    const drains = this.services.map((service) =>
      waitBounded(attempt(() => service.drain?.(deadline)), timeoutMs, (err) => this.failed(service, 'drain', err)).then((outcome) => {
        if (outcome === 'timeout') this.logger.warn({ service: service.name, timeoutMs }, 'service did not drain in time');
      }),
    );
    await Promise.all(drains);
  }

  /** Stops every service, last started first, each within `timeoutMs`. */
  async stopAll(timeoutMs: number): Promise<void> {
    for (const service of [...this.services].reverse()) {
      const outcome = await waitBounded(attempt(() => service.stop()), timeoutMs, (err) => this.failed(service, 'stop', err));
      if (outcome === 'timeout') this.logger.warn({ service: service.name, timeoutMs }, 'service did not stop in time');
    }
  }

  private guard(service: NodeService, hook: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(service, hook, err);
    }
  }

  private failed(service: NodeService, hook: string, err: unknown): void {
    this.failures++;
    this.logger.error({ service: service.name, hook, err }, 'service callback failed');
  }

  private claim(routes: Map<MessageType, number>, types: readonly MessageType[], index: number, kind: string): void {
    const name = this.services[index]!.name;
    for (const type of types) {
      if (MEMBERSHIP_MESSAGE_TYPES.has(type)) throw new FlotillaError('FLO_CONFIG_INVALID', `service ${name} claims ${type}, a membership message`);
      const owner = routes.get(type);
      if (owner !== undefined) {
        throw new FlotillaError('FLO_CONFIG_INVALID', `${kind} type ${type} is claimed by both ${this.services[owner]!.name} and ${name}`);
      }
      routes.set(type, index);
    }
  }
}
