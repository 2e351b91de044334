// Storage adapters as the client uses them: a write waits for an asynchronous `put`
// before it is sent, goes at once after a synchronous one, and a `remove` that fails
// after the acknowledgement neither fails the caller nor escapes as an unhandled rejection.
import { describe, expect, it } from 'vitest';
import { FlotillaClient } from '../../src/client-platform/index.js';
import type { PendingWrite, StorageAdapter } from '../../src/client/storage.js';
import type { ClientFrame, ClientPartitionMap } from '../../src/protocol/client-frames.js';
import { encodeValue } from '../../src/protocol/map-values.js';
import { ScriptedSocket } from './scripted-socket.js';

const MAP: ClientPartitionMap = { version: 1, partitionCount: 271, owners: Array.from({ length: 271 }, () => 0), nodes: [{ nodeId: 'n0', url: 'ws://n0' }], writable: true };

/** Ops the scripted gateway received, in order. */
const received: string[] = [];

class Gateway extends ScriptedSocket {
  protected receive(frame: ClientFrame): void {
    if (frame.type === 'AUTH') {
      this.reply({ type: 'AUTH_ACK', nodeId: 'n0', expiresAt: null });
      this.reply({ type: 'PARTITION_MAP', map: MAP });
    } else if (frame.type === 'OP' || frame.type === 'BATCH') {
      for (const op of frame.type === 'OP' ? [frame.op] : frame.ops) {
        received.push(op.key ?? '');
        this.reply({ type: 'RESULT', id: op.id, payload: encodeValue([null, 1, 0, 'n0']) });
      }
    }
  }
}

/** A few turns of the event loop: the client sends on the next turn, the scripted gateway answers in microtasks. */
async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function routing(client: FlotillaClient): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!client.isRoutingActive()) {
    if (Date.now() > deadline) throw new Error('client not routing');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('storage adapters', () => {
  it('sends a write only once an asynchronous put resolved', async () => {
    received.length = 0;
    let release!: () => void;
    const held = new Map<number, PendingWrite>();
    const storage: StorageAdapter = {
      load: () => Promise.resolve([]),
      put: (write) => new Promise<void>((resolve) => {
        held.set(write.seq, write);
        release = resolve;
      }),
      remove: (seq) => {
        held.delete(seq);
        return Promise.resolve();
      },
    };
    const client = new FlotillaClient({ cluster: { seeds: ['ws://n0'] }, authToken: 't', WebSocket: Gateway as never, storage });
    await routing(client);
    const set = client.getMap('m').set('k1', 1);
    await turns();
    expect(received).toEqual([]);
    release();
    await set;
    expect(received).toEqual(['k1']);
    expect(held.size).toBe(0);
    client.close();
  });

  it('acknowledges a write whose removal fails, with no unhandled rejection', async () => {
    received.length = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const storage: StorageAdapter = {
        load: () => Promise.resolve([]),
        put: () => undefined,
        remove: () => Promise.reject(new Error('disk full')),
      };
      const client = new FlotillaClient({ cluster: { seeds: ['ws://n0'] }, authToken: 't', WebSocket: Gateway as never, storage });
      await routing(client);
      await client.getMap('m').set('k2', 2);
      await turns();
      expect(received).toEqual(['k2']);
      expect(unhandled).toEqual([]);
      client.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
