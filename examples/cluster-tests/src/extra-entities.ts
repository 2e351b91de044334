/**
 * The runner's test entities for composed traits (`TraitTest`: `auditable` and `versioned`)
 * and entity-to-entity calls (`CrossEntity`: messages, and ping-pong rallies that re-enter
 * A -> B -> A), and its cluster singleton (`SingletonTest`), written as a Flotilla user
 * would write them.
 */
import { auditable, defineEntity, defineSingleton, FlotillaError, versioned } from 'flotilla';

/** Most messages a CrossEntity keeps; the oldest are dropped first. */
export const CROSS_MESSAGES_MAX = 1_000;
/** Longest ping-pong rally: each exchange is one more call in the chain (the node's depth limit is 32). */
export const PING_PONG_COUNT_MAX = 25;
/** Audit records a TraitTest keeps. */
export const TRAIT_AUDIT_ENTRIES_MAX = 1_000;
/** The singleton's name. */
export const SINGLETON_TEST = 'SingletonTest';

/** `TraitTest`: one string of data; every update is audited and counted. */
export const TraitTest = defineEntity('TraitTest', {
  // `updates` makes every update a change, so an update repeating the data is audited and counted too.
  state: () => ({ data: '', updates: 0 }),
  traits: [auditable({ entriesMax: TRAIT_AUDIT_ENTRIES_MAX }), versioned()],
  handlers: {
    update(ctx, data: string): null {
      if (typeof data !== 'string') throw new FlotillaError('FLO_INVALID_ARGUMENT', 'data must be a string');
      ctx.state.data = data;
      ctx.state.updates++;
      return null;
    },
    get(ctx): string {
      return ctx.state.data;
    },
  },
});

/** One message a CrossEntity received. */
export interface CrossMessage {
  readonly from_entity: string;
  readonly content: string;
  readonly timestamp: number;
}

/** `CrossEntity`: sends messages to other CrossEntities and keeps those it receives. */
export const CrossEntity = defineEntity('CrossEntity', {
  state: () => ({ messages: [] as CrossMessage[] }),
  handlers: {
    async send(ctx, targetId: string, message: string): Promise<null> {
      await ctx.entity(CrossEntity, targetId).receive(ctx.id, message);
      return null;
    },
    receive(ctx, from: string, message: string): null {
      ctx.state.messages.push({ from_entity: from, content: message, timestamp: ctx.now() });
      if (ctx.state.messages.length > CROSS_MESSAGES_MAX) ctx.state.messages.splice(0, ctx.state.messages.length - CROSS_MESSAGES_MAX);
      return null;
    },
    messages(ctx): CrossMessage[] {
      return ctx.state.messages;
    },
    /** A rally of `count` calls between this entity and its partner; answers how many exchanges happened. */
    async pingPong(ctx, partnerId: string, count: number): Promise<number> {
      if (count <= 0) return 0;
      return 1 + (await ctx.entity(CrossEntity, partnerId).pingPong(ctx.id, count - 1));
    },
  },
});

/** `SingletonTest`: runs on one node of the cluster until it is moved or the node stops. */
export const SingletonTest = defineSingleton(SINGLETON_TEST, async (ctx) => {
  ctx.logger.info({ singleton: ctx.name, epoch: ctx.epoch }, 'SingletonTest: running here');
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  ctx.logger.info({ singleton: ctx.name, epoch: ctx.epoch }, 'SingletonTest: stopped here');
});

/** The entity types this file adds to the runner. */
export const EXTRA_ENTITIES = [TraitTest, CrossEntity] as const;
/** The singletons the runner registers. */
export const RUNNER_SINGLETONS = [SingletonTest] as const;
