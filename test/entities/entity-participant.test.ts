import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { defineEntity, EntityRuntime } from '../../src/entities/index.js';
import { NodeEntityGate } from '../../src/entities/node-gate.js';
import { EntityParticipant } from '../../src/entities/entity-participant.js';
import type { NodeLogger } from '../../src/node/service.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { realTimers } from '../fixtures/timers.js';

const timers = realTimers();

const silent: NodeLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

let release: () => void = () => undefined;
const Slow = defineEntity('Slow', {
  state: () => ({ n: 0 }),
  handlers: {
    async bump(ctx) {
      await new Promise<void>((resolve) => (release = resolve));
      ctx.state.n++;
      return ctx.state.n;
    },
    get(ctx) {
      return ctx.state.n;
    },
  },
});

function rig(movingOut: boolean) {
  const table = new ClusterPartitionTable(271);
  table.applyAssignments(Array.from({ length: 271 }, (_, partition) => ({ partition, owner: 'me', backups: [] })));
  const storage = new MemoryStorage();
  const gate = new NodeEntityGate({ self: 'me', storage, logger: silent, claimWaitMs: 1_000, timers: () => timers, table: () => table });
  const runtime = new EntityRuntime({ nodeId: 'me', definitions: [Slow], storage, clock: new ManualClock(0), gate, defer: (fn) => setImmediate(fn) });
  const participant = new EntityParticipant({ self: 'me', gate, logger: silent, passivateWaitMs: 5_000, timers: () => timers, runtime: () => runtime, movingOwnerOut: () => movingOut });
  return { gate, runtime, participant, storage };
}

async function drain(iterable: AsyncIterable<Uint8Array>): Promise<number> {
  let chunks = 0;
  for await (const _chunk of iterable) chunks++;
  return chunks;
}

describe('EntityParticipant', () => {
  it('an ownership move out seals, lets running calls finish and save, passivates, and exports nothing', async () => {
    const { gate, runtime, participant, storage } = rig(true);
    const ref = runtime.ref(Slow, 's');
    const p = runtime.partitionOf('Slow', 's');
    const running = ref.bump();
    await new Promise((resolve) => setImmediate(resolve));
    participant.beginCapture(p);
    expect(gate.isSealed(p)).toBe(true);
    const queued = ref.get();
    const exported = drain(participant.exportChunks(p));
    release();
    expect(await running).toBe(1);
    await expect(queued).rejects.toMatchObject({ code: 'FLO_NOT_OWNER' });
    expect(await exported).toBe(0);
    expect(runtime.size()).toBe(0);
    expect((await storage.loadEntity('Slow', 's'))?.version).toBe(1);
    expect(participant.takeDeltas(p)).toEqual([]);
  });

  it('a cancelled move unseals; a committed one away drops what is left', async () => {
    const { gate, runtime, participant } = rig(true);
    const p = runtime.partitionOf('Slow', 'c');
    participant.beginCapture(p);
    participant.cancel(p, 'source');
    expect(gate.isSealed(p)).toBe(false);
    expect(await runtime.ref(Slow, 'c').get()).toBe(0);
    participant.finalize(p, 'none');
    expect(runtime.size()).toBe(0);
  });

  it('a copy that does not move ownership (a backup) does not seal', () => {
    const { gate, participant } = rig(false);
    participant.beginCapture(7);
    expect(gate.isSealed(7)).toBe(false);
  });
});
