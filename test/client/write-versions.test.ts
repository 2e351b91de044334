// A write's acknowledgement carries the version the owner stored it at, and the client
// keeps it as the newest version seen for the key, so no later read goes back in time.
// The scripted gateway plays a split: writes are acknowledged by a minority owner (at a
// high version) while reads reach the majority, which still holds the older value. The
// gateway is scripted behind an in-process socket speaking the real client frames.
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { FlotillaClient } from '../../src/client/flotilla-client.js';
import type { SocketConstructor } from '../../src/client/socket.js';
import type { ClientFrame, ClientOp } from '../../src/protocol/client-frames.js';
import { encodeValue } from '../../src/protocol/map-values.js';
import { realTimers } from '../fixtures/timers.js';
import { ScriptedSocket } from './scripted-socket.js';

/** The payload the scripted gateway answers an op with. */
type Answer = (op: ClientOp) => Uint8Array | null;

/** A socket whose other end authenticates everyone and answers each op by `answer`, a BATCH with one RESULTS frame. */
function scriptedSocket(answer: Answer, frames: string[]): SocketConstructor {
  return class extends ScriptedSocket {
    protected receive(frame: ClientFrame): void {
      frames.push(frame.type);
      if (frame.type === 'AUTH') this.reply({ type: 'AUTH_ACK', nodeId: 'n1', expiresAt: null });
      if (frame.type === 'OP') this.reply({ type: 'RESULT', id: frame.op.id, payload: answer(frame.op) });
      if (frame.type === 'BATCH') this.reply({ type: 'RESULTS', results: frame.ops.map((op) => ({ id: op.id, payload: answer(op) })) });
    }
  };
}

const clients: FlotillaClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function clientWith(answer: Answer): { client: FlotillaClient; frames: string[] } {
  const frames: string[] = [];
  const client = new FlotillaClient({ serverUrl: 'ws://scripted', authToken: 't', WebSocket: scriptedSocket(answer, frames), timers: realTimers(), random: new SeededRandom(1) });
  clients.push(client);
  return { client, frames };
}

/** Writes are acknowledged by the minority owner at version 50; reads see the majority's `old` at version 10. */
const split: Answer = (op) => {
  if (op.op === 'get') return encodeValue([encodeValue('old'), 10, 0, 'majority']);
  if (op.op === 'put') return encodeValue([null, 50, 0, 'minority']);
  return encodeValue([true, 50, 1, 'minority']);
};

/** A gateway from before write versions: a put answers nil, a delete a bare boolean. */
const unversioned: Answer = (op) => {
  if (op.op === 'get') return encodeValue([encodeValue('old'), 10, 0, 'majority']);
  return op.op === 'put' ? null : encodeValue(true);
};

describe('write acknowledgements with versions', () => {
  it('a read after the write was acknowledged never returns the older value the write replaced', async () => {
    const { client } = clientWith(split);
    const map = client.getMap<string>('m');
    const acked = map.set('k', 'new');
    // Pending: answered from the local copy.
    expect(await map.get('k')).toBe('new');
    await acked;
    expect(client.pendingWrites()).toBe(0);
    // The majority's value is older than the acknowledged write: a read back in time.
    expect(await map.get('k')).toBe('new');
  });

  it('a delete acknowledged at a version keeps the key deleted against an older value', async () => {
    const { client } = clientWith(split);
    const map = client.getMap<string>('m');
    expect(await map.delete('k')).toBe(true);
    expect(await map.get('k')).toBeUndefined();
  });

  it('writes acknowledged together in one RESULTS frame each record their version', async () => {
    const { client, frames } = clientWith(split);
    const map = client.getMap<string>('m');
    await Promise.all([map.set('a', 'new'), map.set('b', 'new'), map.delete('c')]);
    expect(frames).toContain('BATCH');
    expect(await Promise.all([map.get('a'), map.get('b'), map.get('c')])).toEqual(['new', 'new', undefined]);
  });

  it('a newer value from the nodes still wins over the acknowledged write', async () => {
    const { client } = clientWith((op) => (op.op === 'get' ? encodeValue([encodeValue('later'), 60, 0, 'majority']) : split(op)));
    const map = client.getMap<string>('m');
    await map.set('k', 'new');
    expect(await map.get('k')).toBe('later');
  });

  it('reads acknowledgements of gateways from before the version: nil for a put, a bare boolean for a delete', async () => {
    const { client } = clientWith(unversioned);
    const map = client.getMap<string>('m');
    await map.set('k', 'new');
    expect(client.pendingWrites()).toBe(0);
    expect(await map.delete('k')).toBe(true);
    // No version known: the node's value is all the client has to go by.
    expect(await map.get('k')).toBe('old');
  });
});
