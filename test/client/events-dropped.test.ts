// A gateway that dropped events of a subscription says so (EVENTS_DROPPED); the client
// then re-reads every key it knows of that subscription, so its listeners hear the values
// the lost events carried. The gateway is scripted behind an in-process socket speaking
// the real client frames; a resubscription after a reconnect carries the cursor.
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { FlotillaClient } from '../../src/client/flotilla-client.js';
import type { SocketConstructor } from '../../src/client/socket.js';
import type { ClientFrame } from '../../src/protocol/client-frames.js';
import { encodeValue } from '../../src/protocol/map-values.js';
import { packBody } from '../../src/protocol/msgpack.js';
import { waitFor } from '../node/helpers.js';
import { realTimers } from '../fixtures/timers.js';
import { ScriptedSocket } from './scripted-socket.js';

/** The scripted gateway: values by `map/key` with their version millis; every frame received; the open socket. */
class Gateway {
  readonly values = new Map<string, [string, number]>();
  readonly frames: ClientFrame[] = [];
  socket: ScriptedSocket | undefined;
  /** The marks a SUBSCRIBE is answered with. */
  marks: number[] = [7, 500];

  readonly Socket: SocketConstructor = socketOf(this);

  gets(key: string): number {
    return this.frames.flatMap((f) => (f.type === 'OP' ? [f.op] : f.type === 'BATCH' ? f.ops : [])).filter((o) => o.op === 'get' && o.key === key).length;
  }

  subscribes(): Extract<ClientFrame, { type: 'SUBSCRIBE' }>[] {
    return this.frames.filter((f): f is Extract<ClientFrame, { type: 'SUBSCRIBE' }> => f.type === 'SUBSCRIBE');
  }
}

/** The socket class whose other end is `gateway`. */
function socketOf(gateway: Gateway): SocketConstructor {
  return class extends ScriptedSocket {
    constructor() {
      super();
      gateway.socket = this;
    }
    protected receive(frame: ClientFrame): void {
      gateway.frames.push(frame);
      if (frame.type === 'AUTH') this.reply({ type: 'AUTH_ACK', nodeId: 'n1', expiresAt: null });
      if (frame.type === 'SUBSCRIBE') this.reply({ type: 'RESULT', id: frame.sub.id, payload: new Uint8Array(packBody(gateway.marks)) });
      for (const op of frame.type === 'OP' ? [frame.op] : frame.type === 'BATCH' ? frame.ops : []) {
        const held = gateway.values.get(`${op.map}/${op.key}`);
        this.reply({ type: 'RESULT', id: op.id, payload: held === undefined ? null : encodeValue([encodeValue(held[0]), held[1], 0, 'n1']) });
      }
    }
  };
}

const clients: FlotillaClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function clientOf(gateway: Gateway): FlotillaClient {
  const client = new FlotillaClient({ serverUrl: 'ws://scripted', authToken: 't', WebSocket: gateway.Socket, timers: realTimers(), random: new SeededRandom(1), config: { reconnectBaseMs: 1, reconnectMaxMs: 5 } });
  clients.push(client);
  return client;
}

describe('EVENTS_DROPPED and resubscription', () => {
  it('re-reads the known keys of the subscription`s map and tells its listeners what changed', async () => {
    const gateway = new Gateway();
    gateway.values.set('m/a', ['a0', 10]).set('m/b', ['b0', 10]).set('other/x', ['x0', 10]);
    const client = clientOf(gateway);
    const m = client.getMap<string>('m');
    expect([await m.get('a'), await m.get('b'), await client.getMap<string>('other').get('x')]).toEqual(['a0', 'b0', 'x0']);
    const heard: [string, unknown, string][] = [];
    m.subscribe((c) => heard.push([c.key, c.value, c.origin]));
    await waitFor(() => gateway.subscribes().length === 1, 'the subscription sent', 5_000);
    // A fresh subscription starts live: no cursor.
    expect(gateway.subscribes()[0]!.sub.since).toBeNull();

    gateway.values.set('m/a', ['a1', 20]).set('other/x', ['x1', 20]);
    const [readsA, readsB, readsX] = [gateway.gets('a'), gateway.gets('b'), gateway.gets('x')];
    gateway.socket!.reply({ type: 'EVENTS_DROPPED', id: gateway.subscribes()[0]!.sub.id, code: 'FLO_EVENTS_DROPPED', message: 'slow' });
    await waitFor(() => heard.length === 1, 'the changed value heard', 5_000);
    expect(heard).toEqual([['a', 'a1', 'remote']]);
    await waitFor(() => gateway.gets('b') > readsB, 'b re-read', 5_000);
    expect(gateway.gets('a')).toBe(readsA + 1);
    // Not the subscription's map: not re-read.
    expect(gateway.gets('x')).toBe(readsX);
  });

  it('after a reconnect, subscribes again with the cursor the answers and marked events built', async () => {
    const gateway = new Gateway();
    const client = clientOf(gateway);
    client.getMap<string>('m').subscribe(() => undefined);
    await waitFor(() => client.getConnectedNodes().length === 1 && gateway.subscribes().length >= 1, 'subscribed', 5_000);
    const id = gateway.subscribes()[0]!.sub.id;
    gateway.socket!.reply({ type: 'EVENT', id, key: 'k', value: null, version: { millis: 900, counter: 0, node: 'n1' }, mark: { partition: 7, millis: 899 } });
    // A mark for a partition the answer did not cover counts for nothing.
    gateway.socket!.reply({ type: 'EVENT', id, key: 'j', value: null, version: { millis: 950, counter: 0, node: 'n1' }, mark: { partition: 8, millis: 949 } });
    await waitFor(() => client.getConnectedNodes().length === 1, 'still connected', 5_000);
    const before = gateway.subscribes().length;
    gateway.socket!.drop();
    await waitFor(() => gateway.subscribes().length > before, 'subscribed again after the reconnect', 5_000);
    expect(gateway.subscribes().at(-1)!.sub.since).toEqual(new Map([[7, 899]]));
  });
});
