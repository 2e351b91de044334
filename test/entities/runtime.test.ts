import { describe, expect, it } from 'vitest';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import { entityKey, expectVersion } from '../../src/entities/index.js';
import { decodeState } from '../../src/entities/state-codec.js';
import { Counter, makeRig, openGate, PingA, settle } from './fixtures.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (error) {
    return isFlotillaError(error) ? error.code : `not flotilla: ${String(error)}`;
  }
}

describe('EntityRuntime: calls and persistence', () => {
  it('serializes concurrent calls to one entity: none is lost, order is FIFO', async () => {
    const { runtime, storage } = makeRig();
    const ref = runtime.ref(Counter, 'c1');
    const results = await Promise.all(Array.from({ length: 50 }, () => ref.increment(1)));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const stored = await storage.loadEntity('Counter', 'c1');
    expect(stored?.version).toBe(50);
    expect(decodeState(stored!.state).state).toEqual({ value: 50 });
  });

  it('saves only calls that changed the state', async () => {
    const { runtime, storage } = makeRig();
    const ref = runtime.ref(Counter, 'c1');
    expect(await ref.get()).toBe(0);
    expect(storage.batches).toHaveLength(0);
    await ref.increment(2);
    expect(await ref.get()).toBe(2);
    expect(storage.batches.flat()).toHaveLength(1);
  });

  it('a handler that throws leaves the stored and in-memory state untouched', async () => {
    const { runtime, storage } = makeRig();
    const ref = runtime.ref(Counter, 'c1');
    await ref.increment(3);
    const error = await ref.failAfterIncrement(10).catch((e: unknown) => e);
    expect(isFlotillaError(error, 'FLO_HANDLER_FAILED')).toBe(true);
    expect((error as Error).message).toContain('boom');
    expect(await ref.get()).toBe(3);
    expect((await storage.loadEntity('Counter', 'c1'))?.version).toBe(1);
  });

  it('refuses a state beyond stateBytesMax and saves nothing', async () => {
    const { runtime, storage } = makeRig({ config: { stateBytesMax: 1024 } });
    const ref = runtime.ref(Counter, 'c1');
    expect(await codeOf(ref.grow(2048))).toBe('FLO_STATE_TOO_LARGE');
    expect(await storage.loadEntity('Counter', 'c1')).toBeUndefined();
    await ref.grow(10);
    expect((await storage.loadEntity('Counter', 'c1'))?.version).toBe(1);
  });

  it.each([
    ['unknown type', { type: 'Nope', handler: 'x' }, 'FLO_ENTITY_UNKNOWN'],
    ['unknown handler', { type: 'Counter', handler: 'nope' }, 'FLO_HANDLER_UNKNOWN'],
  ])('refuses an %s', async (_name, target, code) => {
    const { runtime } = makeRig();
    expect(await codeOf(runtime.invoke({ ...target, id: 'a', args: [], meta: {}, chain: [] }))).toBe(code);
  });

  it('bounds the mailbox with FLO_MAILBOX_FULL', async () => {
    const { runtime } = makeRig({ config: { mailboxCapacityMax: 3 } });
    const ref = runtime.ref(Counter, 'busy');
    const running = ref.slowIncrement(1, 'mailbox');
    await settle();
    const queued = [ref.increment(1), ref.increment(1), ref.increment(1)];
    expect(await codeOf(ref.increment(1))).toBe('FLO_MAILBOX_FULL');
    openGate('mailbox');
    expect(await running).toBe(1);
    expect(await Promise.all(queued)).toEqual([2, 3, 4]);
  });

  it('answers a retried call id from the first outcome instead of running it twice', async () => {
    const { runtime } = makeRig();
    const call = { type: 'Counter', id: 'd', handler: 'increment', args: [5], meta: {}, chain: [], callId: 'x/1' };
    const [a, b] = await Promise.all([runtime.invoke(call), runtime.invoke(call)]);
    expect([a, b]).toEqual([5, 5]);
    expect(await runtime.invoke(call)).toBe(5);
    expect(await runtime.ref(Counter, 'd').get()).toBe(5);
    expect(runtime.stats.dedupedCalls).toBe(2);
  });
});

describe('EntityRuntime: retries after a refusal', () => {
  it('a call refused for ownership is not replayed: its retry with the same call id runs', async () => {
    let open = true;
    const gate = {
      admit: () => (open ? Promise.resolve(1) : Promise.reject(new FlotillaError('FLO_NOT_OWNER', 'closed'))),
      deposed: () => undefined,
    };
    const { runtime, storage } = makeRig({ gate });
    for (let p = 0; p < 271; p++) await storage.claimPartition(p, 1, 'n1');
    await runtime.ref(Counter, 'r').increment(1);
    open = false;
    const call = { type: 'Counter', id: 'r', handler: 'increment', args: [2], meta: {}, chain: [], callId: 'y/1' };
    expect(await codeOf(runtime.invoke(call))).toBe('FLO_NOT_OWNER');
    expect(runtime.size()).toBe(1);
    open = true;
    expect(await runtime.invoke(call)).toBe(3);
    expect(await runtime.invoke(call)).toBe(3);
  });
});

describe('EntityRuntime: re-entrancy', () => {
  it('runs A -> B -> A instead of deadlocking', async () => {
    const { runtime } = makeRig();
    expect(await runtime.ref(PingA, 'a').start('b')).toBe(2);
    expect(runtime.stats.reentrantCalls).toBe(1);
  });

  it('fails a chain deeper than callDepthMax with FLO_CALL_DEPTH', async () => {
    const { runtime } = makeRig({ config: { callDepthMax: 5 } });
    expect(await runtime.ref(PingA, 'r').recurse(4)).toBe(4);
    expect(await codeOf(runtime.ref(PingA, 'r').recurse(10))).toBe('FLO_CALL_DEPTH');
  });
});

describe('EntityRuntime: traits', () => {
  it('versioned counts changes and refuses a moved expected version', async () => {
    const { runtime } = makeRig();
    const ref = runtime.ref(Counter, 'v');
    await ref.increment(1);
    await ref.get();
    await ref.increment(1);
    expect(await ref.version()).toBe(2);
    expect(await expectVersion(ref, 2).increment(1)).toBe(3);
    expect(await codeOf(expectVersion(ref, 2).increment(1))).toBe('FLO_VERSION_CONFLICT');
    expect(await ref.get()).toBe(3);
  });

  it('auditable records changing calls, and trait state persists across passivation', async () => {
    const { runtime, clock } = makeRig();
    const ref = runtime.ref(Counter, 'audit');
    await ref.increment(2);
    await ref.get();
    clock.advance(2_000);
    await ref.increment(3);
    clock.advance(120_000);
    expect(runtime.sweep()).toBe(1);
    expect(runtime.size()).toBe(0);
    const log = await ref.auditLog();
    expect(log).toEqual([
      { action: 'increment', data: [2], timestamp: 1_000 },
      { action: 'increment', data: [3], timestamp: 3_000 },
    ]);
    expect(await ref.version()).toBe(2);
  });
});

describe('EntityRuntime: passivation and bounds', () => {
  it('passivates idle entities after passivateAfterMs (per type) and reloads them with nothing lost', async () => {
    const { runtime, clock, storage } = makeRig({ config: { passivateAfterMs: 10_000 } });
    await runtime.ref(Counter, 'p').increment(7);
    await runtime.ref(Counter, 'q').increment(1);
    clock.advance(9_999);
    expect(runtime.sweep()).toBe(0);
    await runtime.ref(Counter, 'q').get();
    clock.advance(1);
    expect(runtime.sweep()).toBe(1);
    expect(runtime.activeEntities()).toEqual([{ type: 'Counter', id: 'q', partition: runtime.partitionOf('Counter', 'q') }]);
    const loadsBefore = runtime.stats.loads;
    expect(await runtime.ref(Counter, 'p').increment(1)).toBe(8);
    expect(runtime.stats.loads).toBe(loadsBefore + 1);
    expect((await storage.loadEntity('Counter', 'p'))?.version).toBe(2);
  });

  it('memory-persistence types never touch storage (and lose their state on passivation)', async () => {
    const { runtime, clock, storage } = makeRig();
    const { Scratch } = await import('./fixtures.js');
    expect(await runtime.ref(Scratch, 's').bump()).toBe(1);
    expect(await runtime.ref(Scratch, 's').bump()).toBe(2);
    expect(storage.batches).toHaveLength(0);
    clock.advance(500);
    expect(runtime.sweep()).toBe(1);
    expect(await runtime.ref(Scratch, 's').bump()).toBe(1);
  });

  it('activeEntitiesMax evicts the least recently used idle activation', async () => {
    const { runtime } = makeRig({ config: { activeEntitiesMax: 3 } });
    for (const id of ['a', 'b', 'c']) await runtime.ref(Counter, id).increment(1);
    await runtime.ref(Counter, 'a').get();
    await runtime.ref(Counter, 'd').increment(1);
    expect(runtime.activeEntities().map((e) => e.id).sort()).toEqual(['a', 'c', 'd']);
    expect(runtime.stats.evictions).toBe(1);
    expect(await runtime.ref(Counter, 'b').get()).toBe(1);
  });

  it('refuses a new activation with FLO_QUEUE_FULL when every held one is busy', async () => {
    const { runtime } = makeRig({ config: { activeEntitiesMax: 1 } });
    const busy = runtime.ref(Counter, 'x').slowIncrement(1, 'full');
    await settle();
    expect(await codeOf(runtime.ref(Counter, 'y').get())).toBe('FLO_QUEUE_FULL');
    openGate('full');
    await busy;
    expect(await runtime.ref(Counter, 'y').get()).toBe(0);
  });
});

describe('EntityRuntime: group commit and fencing', () => {
  it('commits writes of different entities that are ready together in one batch', async () => {
    const { runtime, storage } = makeRig();
    await Promise.all(Array.from({ length: 20 }, (_, i) => runtime.ref(Counter, `g${i}`).increment(1)));
    const total = storage.batches.reduce((n, b) => n + b.length, 0);
    expect(total).toBe(20);
    expect(storage.batches.length).toBeLessThan(20);
    expect(Math.max(...storage.batches.map((b) => b.length))).toBeGreaterThan(1);
  });

  it('a write behind the fence deposes the node: the call fails FLO_NOT_OWNER and the activations go', async () => {
    const { runtime, storage } = makeRig();
    const ref = runtime.ref(Counter, 'f');
    await ref.increment(1);
    const partition = runtime.partitionOf('Counter', 'f');
    await storage.claimPartition(partition, 2, 'n2');
    expect(await codeOf(ref.increment(1))).toBe('FLO_NOT_OWNER');
    expect(runtime.activeEntities().some((e) => e.partition === partition)).toBe(false);
    expect(await codeOf(ref.get())).toBe('FLO_NOT_OWNER');
    expect((await storage.loadEntity('Counter', 'f'))?.version).toBe(1);
  });

  it('passivatePartition waits for running calls, then passivates', async () => {
    const { runtime } = makeRig();
    const ref = runtime.ref(Counter, 'm');
    const running = ref.slowIncrement(4, 'move');
    await settle();
    const partition = runtime.partitionOf('Counter', 'm');
    let done = false;
    const passivated = runtime.passivatePartition(partition).then((n) => {
      done = true;
      return n;
    });
    await settle();
    expect(done).toBe(false);
    openGate('move');
    expect(await running).toBe(4);
    expect(await passivated).toBe(1);
    expect(runtime.size()).toBe(0);
    expect(runtime.entityCounts()).toEqual([]);
  });

  it('counts active entities per type and partition', async () => {
    const { runtime } = makeRig();
    await runtime.ref(Counter, 'k1').get();
    await runtime.ref(Counter, 'k2').get();
    const counts = runtime.entityCounts();
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(2);
    expect(counts.every((c) => c.type === 'Counter')).toBe(true);
    expect(entityKey('Counter', 'k1')).toBe('Counter/k1');
  });
});
