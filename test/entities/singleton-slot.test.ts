// The singleton slot and leader over a real in-memory store and a table the test moves:
// takeover claims the fence and records the leadership, counter values commit before they
// are returned, a newer owner's claim deposes the old leader (no value repeats), a planned
// move aborts the function and waits for it within the handover bound.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { SILENT_LOGGER } from '../../src/core/logger.js';
import type { PartitionTableReader } from '../../src/partitions/coordinator.js';
import type { ShardContext } from '../../src/sharding/service.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { defineSingleton, type SingletonContext, type SingletonRun } from '../../src/entities/singleton-definition.js';
import { decodeRecord, SINGLETON_RECORD_TYPE } from '../../src/entities/singleton-record.js';
import { SingletonSlot } from '../../src/entities/singleton-slot.js';
import { realTimers } from '../fixtures/timers.js';

const PARTITION = 7;

/** A table with one partition of interest, which the test hands from node to node. */
class MovableTable {
  version = 1;
  ownerId = 'a';
  epochValue = 1;
  moving = false;
  readOnly = false;

  give(owner: string): void {
    this.ownerId = owner;
    this.epochValue++;
    this.version++;
  }

  context(self: string): ShardContext {
    const reader = { version: 0, owner: () => this.ownerId, epoch: () => this.epochValue };
    const table = (): PartitionTableReader => ({ ...reader, version: this.version }) as unknown as PartitionTableReader;
    return {
      self,
      logger: SILENT_LOGGER,
      timers: realTimers(),
      partitionCount: 271,
      table,
      roleOf: () => 'none',
      addressOf: () => undefined,
      request: () => Promise.reject(new Error('no wire in this test')),
      route: () => Promise.reject(new Error('no wire in this test')),
      flushSealed: () => Promise.resolve(),
      observeTableVersion: () => undefined,
      readOnly: () => this.readOnly,
      writeRefusal: () => undefined,
      movingOwnerOut: () => this.moving && this.ownerId === self,
      awaitingData: () => false,
      stopped: () => false,
    };
  }
}

function slotOn(self: string, table: MovableTable, storage: MemoryStorage, run: SingletonRun, handoverWaitMs = 2_000): SingletonSlot {
  const ctx = table.context(self);
  return new SingletonSlot({
    definition: defineSingleton('clock', run, { handoverWaitMs, restartDelayMs: 50 }),
    self,
    partition: PARTITION,
    storage,
    logger: SILENT_LOGGER,
    ctx: () => ctx,
    stopping: () => false,
  });
}

/** A function that records its contexts and runs until aborted. */
function untilAborted(seen: SingletonContext[]): SingletonRun {
  return (ctx) => {
    seen.push(ctx);
    return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
  };
}

async function stored(storage: MemoryStorage) {
  const record = await storage.loadEntity(SINGLETON_RECORD_TYPE, 'clock');
  return record === undefined ? undefined : decodeRecord(record.state);
}

describe('singleton slot', () => {
  it('takes over by claiming the fence, records the leadership, and hands out committed counter values', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    const seen: SingletonContext[] = [];
    const a = slotOn('a', table, storage, untilAborted(seen));
    await a.settled();
    expect(a.leader?.epoch).toBe(1);
    expect(seen.map((c) => [c.nodeId, c.epoch])).toEqual([['a', 1]]);
    expect((await storage.fences()).find((f) => f.partition === PARTITION)).toEqual({ partition: PARTITION, epoch: 1, owner: 'a' });
    const values = await Promise.all(Array.from({ length: 20 }, () => a.leader!.next()));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await seen[0]!.next()).toBe(21);
    const record = await stored(storage);
    expect(record?.counter).toBe(21);
    expect(record?.history).toEqual([{ runner: 'a', epoch: 1, becameLeaderAt: expect.any(Number), lostLeadershipAt: null }]);
  });

  it('a newer owner fences the old leader: its next write is refused, its function aborts, no value repeats', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    const seenA: SingletonContext[] = [];
    const seenB: SingletonContext[] = [];
    const a = slotOn('a', table, storage, untilAborted(seenA));
    const b = slotOn('b', table, storage, untilAborted(seenB));
    await a.settled();
    const before = [await a.leader!.next(), await a.leader!.next()];
    // b becomes owner while a has not heard of it (a crashed-and-frozen or partitioned owner).
    const aCtxTable = { owner: table.ownerId, epoch: table.epochValue };
    table.give('b');
    await b.settled();
    expect(b.leader?.epoch).toBe(2);
    // a's leader still believes it leads: its write must be refused by the fence.
    table.ownerId = aCtxTable.owner;
    table.epochValue = aCtxTable.epoch;
    const refused = await seenA[0]!.next().catch((e: unknown) => e);
    expect(isFlotillaError(refused, 'FLO_NOT_OWNER')).toBe(true);
    await a.settled();
    expect(seenA[0]!.signal.aborted).toBe(true);
    expect(a.leader).toBeUndefined();
    const after = [await b.leader!.next(), await b.leader!.next()];
    expect(after).toEqual([3, 4]);
    expect(new Set([...before, ...after]).size).toBe(4);
    const history = (await stored(storage))!.history;
    expect(history.map((h) => [h.runner, h.epoch])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(history[0]!.lostLeadershipAt).not.toBeNull();
    expect(history[1]!.lostLeadershipAt).toBeNull();
  });

  it('a planned move aborts the function, waits for it, and records the end before the new owner takes over', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    let cleanedUp = false;
    const a = slotOn('a', table, storage, async (ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      cleanedUp = true;
    });
    await a.settled();
    await a.leader!.next();
    table.moving = true;
    await a.settled();
    expect(cleanedUp).toBe(true);
    expect(a.leader).toBeUndefined();
    const closed = (await stored(storage))!.history;
    expect(closed).toHaveLength(1);
    expect(closed[0]!.lostLeadershipAt).not.toBeNull();
    table.moving = false;
    table.give('b');
    const b = slotOn('b', table, storage, untilAborted([]));
    await b.settled();
    expect(await b.leader!.next()).toBe(2);
    expect((await stored(storage))!.history.map((h) => h.runner)).toEqual(['a', 'b']);
  });

  it('a function that ignores its signal is let go after the handover wait', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    const a = slotOn('a', table, storage, () => new Promise<void>(() => undefined), 100);
    await a.settled();
    table.moving = true;
    await a.settled();
    expect(a.leader).toBeUndefined();
    expect((await stored(storage))!.history[0]!.lostLeadershipAt).not.toBeNull();
  });

  it('a node without quorum stops leading; one that was refused a claim does not lead at that epoch', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    const a = slotOn('a', table, storage, untilAborted([]));
    await a.settled();
    table.readOnly = true;
    await a.settled();
    expect(a.leader).toBeUndefined();
    table.readOnly = false;
    await storage.claimPartition(PARTITION, 5, 'intruder');
    table.give('a');
    await a.settled();
    expect(a.leader).toBeUndefined();
    expect(a.wantedEpoch()).toBeUndefined();
  });

  it('a function that throws runs again while it leads', async () => {
    const storage = new MemoryStorage();
    const table = new MovableTable();
    let runs = 0;
    const a = slotOn('a', table, storage, (ctx) => {
      runs++;
      if (runs < 3) throw new Error('boom');
      return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    });
    await a.settled();
    const deadline = Date.now() + 10_000;
    while (runs < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runs).toBe(3);
  });
});
