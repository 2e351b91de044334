/** Entity types and a runtime factory shared by the entity runtime tests. */
import { ManualClock } from '../../src/core/clock.js';
import { auditable, defineEntity, EntityRuntime, versioned } from '../../src/entities/index.js';
import type { AnyEntityDefinition, EntityConfig, PartitionGate } from '../../src/entities/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { EntityWrite, Storage, WriteResult } from '../../src/storage/storage.js';

export const Counter = defineEntity('Counter', {
  state: () => ({ value: 0 }),
  handlers: {
    increment(ctx, n: number) {
      ctx.state.value += n;
      return ctx.state.value;
    },
    get(ctx) {
      return ctx.state.value;
    },
    failAfterIncrement(ctx, n: number) {
      ctx.state.value += n;
      throw new Error('boom');
    },
    async slowIncrement(ctx, n: number, gate: string) {
      await waitFor(gate);
      ctx.state.value += n;
      return ctx.state.value;
    },
    grow(ctx, bytes: number) {
      ctx.state = { value: ctx.state.value, blob: 'x'.repeat(bytes) } as { value: number };
    },
  },
  traits: [versioned(), auditable()],
});

/** A ping-pong pair for re-entrancy: A.start calls B.bounce, which calls A.back. */
export const PingA = defineEntity('PingA', {
  state: () => ({ hits: 0 }),
  handlers: {
    async start(ctx, bId: string) {
      ctx.state.hits++;
      return await ctx.entity(PingB, bId).bounce(ctx.id);
    },
    back(ctx) {
      ctx.state.hits++;
      return ctx.state.hits;
    },
    async recurse(ctx, left: number): Promise<number> {
      if (left === 0) return 0;
      return 1 + (await ctx.entity(PingA, ctx.id).recurse(left - 1));
    },
  },
});

export const PingB = defineEntity('PingB', {
  state: () => ({}),
  handlers: {
    async bounce(ctx, aId: string): Promise<number> {
      return await ctx.entity(PingA, aId).back();
    },
  },
});

export const Scratch = defineEntity('Scratch', {
  state: () => ({ n: 0 }),
  handlers: {
    bump(ctx) {
      ctx.state.n++;
      return ctx.state.n;
    },
  },
  persistence: 'memory',
  passivateAfterMs: 500,
});

const gates = new Map<string, { promise: Promise<void>; open: () => void }>();

function gateOf(name: string): { promise: Promise<void>; open: () => void } {
  let g = gates.get(name);
  if (g === undefined) {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    g = { promise, open };
    gates.set(name, g);
  }
  return g;
}

/** A promise the test opens with `openGate(name)`. */
export function waitFor(name: string): Promise<void> {
  return gateOf(name).promise;
}

export function openGate(name: string): void {
  gateOf(name).open();
}

/** Memory storage that records every `writeEntities` batch. */
export class RecordingStorage extends MemoryStorage {
  readonly batches: EntityWrite[][] = [];

  override writeEntities(writes: readonly EntityWrite[]): Promise<WriteResult[]> {
    this.batches.push([...writes]);
    return super.writeEntities(writes);
  }
}

export interface Rig {
  readonly runtime: EntityRuntime;
  readonly storage: RecordingStorage;
  readonly clock: ManualClock;
}

/** A runtime over recording memory storage and a manual clock. */
export function makeRig(
  options: { config?: Partial<EntityConfig>; definitions?: readonly AnyEntityDefinition[]; gate?: PartitionGate; storage?: RecordingStorage } = {},
): Rig {
  const storage = options.storage ?? new RecordingStorage();
  const clock = new ManualClock(1_000);
  const runtime = new EntityRuntime({
    nodeId: 'n1',
    definitions: options.definitions ?? [Counter, PingA, PingB, Scratch],
    storage: storage as Storage,
    clock,
    config: options.config,
    defer: (fn) => setImmediate(fn),
    ...(options.gate === undefined ? {} : { gate: options.gate }),
  });
  return { runtime, storage, clock };
}

/** Let queued microtasks and immediates (group commits) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
