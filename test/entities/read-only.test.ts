// The quorum verdict inside the entity runtime: while the node is read-only, a call that
// changes state fails with FLO_READ_ONLY and leaves memory and storage as they were;
// calls that only read go on; once quorum is back the same call succeeds.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { EntityRuntime } from '../../src/entities/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { Counter } from './fixtures.js';

describe('entities on a node without quorum', () => {
  it('refuse state changes with FLO_READ_ONLY, keep answering reads, and accept writes again after the heal', async () => {
    let readOnly = false;
    const storage = new MemoryStorage();
    const runtime = new EntityRuntime({ nodeId: 'n1', definitions: [Counter], storage, clock: new ManualClock(0), defer: (fn) => setImmediate(fn), readOnly: () => readOnly });
    const counter = runtime.ref(Counter, 'c1');
    expect(await counter.increment(5)).toBe(5);

    readOnly = true;
    await expect(counter.increment(1)).rejects.toMatchObject({ code: 'FLO_READ_ONLY', retryable: true });
    expect(await counter.get()).toBe(5);
    expect((await storage.loadEntity('Counter', 'c1'))?.version).toBe(1);

    readOnly = false;
    expect(await counter.increment(1)).toBe(6);
    expect((await storage.loadEntity('Counter', 'c1'))?.version).toBe(2);
  });
});
