import { describe, expect, expectTypeOf, it } from 'vitest';
import { auditable, defineEntity, defineTrait, makeEntityRef, refTarget, versioned, withCallMeta } from '../../src/entities/index.js';
import type { EntityRef } from '../../src/entities/index.js';
import { FlotillaError } from '../../src/core/errors.js';

const Counter = defineEntity('Counter', {
  state: () => ({ value: 0 }),
  handlers: {
    increment(ctx, n: number) {
      ctx.state.value += n;
      return ctx.state.value;
    },
    get(ctx) {
      return ctx.state.value;
    },
    async label(ctx, prefix: string, times?: number) {
      await Promise.resolve();
      return `${prefix}${ctx.id}:${times ?? 1}`;
    },
  },
  traits: [versioned(), auditable()],
});

describe('defineEntity', () => {
  it('types flow from the definition to the ref', () => {
    const calls: unknown[] = [];
    const ref = makeEntityRef(Counter, 'c1', (handler, args) => {
      calls.push([handler, args]);
      return Promise.resolve(1);
    });
    expectTypeOf(ref.increment).toEqualTypeOf<(n: number) => Promise<number>>();
    expectTypeOf(ref.get).toEqualTypeOf<() => Promise<number>>();
    expectTypeOf(ref.label).toEqualTypeOf<(prefix: string, times?: number) => Promise<string>>();
    expectTypeOf(ref.version).toEqualTypeOf<() => Promise<number>>();
    expectTypeOf(ref.auditLog).returns.resolves.toBeArray();
    expectTypeOf(ref).toMatchTypeOf<EntityRef<typeof Counter>>();
    if (calls.length > 0) {
      // Type-level only: never runs.
      // @ts-expect-error a string is not a number
      void ref.increment('5');
      // @ts-expect-error no such handler
      void ref.decrement(1);
    }
  });

  it('builds refs whose methods send the handler, arguments and metadata', async () => {
    const calls: unknown[] = [];
    const ref = makeEntityRef(Counter, 'c1', (handler, args, meta) => {
      calls.push([handler, args, meta]);
      return Promise.resolve(7);
    });
    expect(await ref.increment(5)).toBe(7);
    await withCallMeta(ref, { expectedVersion: 3 }).version();
    expect(calls).toEqual([
      ['increment', [5], {}],
      ['version', [], { expectedVersion: 3 }],
    ]);
    expect(refTarget(ref)).toEqual({ type: 'Counter', id: 'c1' });
    expect(Object.keys(ref).sort()).toEqual(['auditLog', 'get', 'increment', 'label', 'version']);
  });

  it.each([
    ['bad type name', () => defineEntity('1bad', { state: () => 0, handlers: {} })],
    ['reserved handler', () => defineEntity('A', { state: () => 0, handlers: { then: () => 1 } })],
    ['handler clash with a trait', () => defineEntity('A', { state: () => 0, handlers: { version: () => 1 }, traits: [versioned()] })],
    ['trait twice', () => defineEntity('A', { state: () => 0, handlers: {}, traits: [versioned(), versioned()] })],
    ['bad passivateAfterMs', () => defineEntity('A', { state: () => 0, handlers: {}, passivateAfterMs: 0 })],
    ['bad trait name', () => defineTrait('no spaces', { state: () => 0, handlers: {} })],
  ])('refuses %s', (_name, make) => {
    expect(make).toThrow(FlotillaError);
  });

  it('defaults persistence to durable', () => {
    expect(Counter.persistence).toBe('durable');
    expect(defineEntity('M', { state: () => 0, handlers: {}, persistence: 'memory' }).persistence).toBe('memory');
  });
});
