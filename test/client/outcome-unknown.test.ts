// The smart client after an attempt that may have run: a gateway answers the first
// attempt FLO_UNCONFIRMED (applied on the owner, not confirmed by its backups) or
// FLO_TIMEOUT, then refuses every retry (FLO_READ_ONLY). An OR-map op or an entity call
// must then fail as outcome unknown (FLO_UNCONFIRMED), never with the refusal; a LWW write
// stays queued and lands once a retry is accepted; a read that timed out and was then
// refused reports the refusal. The gateway here is scripted behind an in-process socket
// speaking the real client frames.
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { FlotillaClient } from '../../src/client/flotilla-client.js';
import type { SocketConstructor } from '../../src/client/socket.js';
import type { ClientFrame } from '../../src/protocol/client-frames.js';
import { realTimers } from '../fixtures/timers.js';
import { ScriptedSocket } from './scripted-socket.js';

/** What the scripted gateway answers to its `n`th keyed request (0-based): an error code, a RESULT, or a dropped connection. */
type Script = (n: number) => { code: string } | { payload: Uint8Array | null } | { drop: true };

/** A socket whose other end is a gateway that authenticates everyone and answers requests by `script`. */
function scriptedSocket(script: Script, requests: string[]): SocketConstructor {
  return class extends ScriptedSocket {
    protected receive(frame: ClientFrame): void {
      if (frame.type === 'AUTH') this.reply({ type: 'AUTH_ACK', nodeId: 'n1', expiresAt: null });
      const ids = frame.type === 'OP' ? [[frame.op.id, frame.op.op] as const] : frame.type === 'BATCH' ? frame.ops.map((o) => [o.id, o.op] as const) : frame.type === 'CALL' ? [[frame.call.id, 'call'] as const] : [];
      for (const [id, what] of ids) {
        const answer = script(requests.length);
        requests.push(what);
        if ('drop' in answer) {
          this.drop();
          return;
        }
        this.reply('code' in answer ? { type: 'ERROR', id, code: answer.code, message: `${answer.code} (scripted)`, owner: null, mapVersion: null } : { type: 'RESULT', id, payload: answer.payload });
      }
    }
  };
}

const clients: FlotillaClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function clientWith(script: Script): { client: FlotillaClient; requests: string[] } {
  const requests: string[] = [];
  const client = new FlotillaClient({
    serverUrl: 'ws://scripted',
    authToken: 't',
    WebSocket: scriptedSocket(script, requests),
    timers: realTimers(),
    random: new SeededRandom(1),
    // The deadline bounds the retries on refusals; it is no threshold the test measures.
    config: { requestTimeoutMs: 300, retryDelayMs: 5 },
  });
  clients.push(client);
  return { client, requests };
}

const first = (code: string, then: string): Script => (n) => ({ code: n === 0 ? code : then });
const Counter = { type: 'Counter', handlers: { add: (_ctx: never, _n: number): number => 0 }, traits: [] } as const;

describe('client ops whose first attempt may have run', () => {
  it.each(['FLO_UNCONFIRMED', 'FLO_TIMEOUT'])('an OR-map add answered %s, then refused as read-only, fails FLO_UNCONFIRMED', async (code) => {
    const { client, requests } = clientWith(first(code, 'FLO_READ_ONLY'));
    const err = await client.getOrMap('tags').add('k', 'v').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FLO_UNCONFIRMED', details: { outcomeUnknown: true, firstError: code, lastError: 'FLO_READ_ONLY' } });
    expect(requests.length).toBeGreaterThan(1);
  });

  it('an entity call answered FLO_UNCONFIRMED, then refused, fails FLO_UNCONFIRMED', async () => {
    const { client } = clientWith(first('FLO_UNCONFIRMED', 'FLO_NOT_OWNER'));
    await expect(client.entity(Counter, 'c1').add(1)).rejects.toMatchObject({ code: 'FLO_UNCONFIRMED', details: { lastError: 'FLO_NOT_OWNER' } });
  });

  it('an OR-map add whose connection dropped after it was sent, then found no node, fails FLO_UNCONFIRMED', async () => {
    const { client, requests } = clientWith((n) => (n === 0 ? { drop: true } : { code: 'FLO_READ_ONLY' }));
    const err = await client.getOrMap('tags').add('k', 'v').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FLO_UNCONFIRMED', details: { outcomeUnknown: true, firstError: 'FLO_CONNECTION_FAILED' } });
    expect(requests[0]).toBe('orAdd');
  });

  it('a refusal with no earlier may-have-run attempt stays a refusal', async () => {
    const { client } = clientWith(() => ({ code: 'FLO_READ_ONLY' }));
    await expect(client.getOrMap('tags').add('k', 'v')).rejects.toMatchObject({ code: 'FLO_READ_ONLY' });
  });

  it('a read is not a write: a timeout, then a refusal, reports the refusal', async () => {
    const { client } = clientWith(first('FLO_TIMEOUT', 'FLO_NO_OWNER'));
    await expect(client.getOrMap('tags').get('k')).rejects.toMatchObject({ code: 'FLO_NO_OWNER' });
  });

  it('a LWW write answered FLO_UNCONFIRMED, then refused, stays queued and lands once accepted', async () => {
    const { client, requests } = clientWith((n) => (n === 0 ? { code: 'FLO_UNCONFIRMED' } : n < 4 ? { code: 'FLO_READ_ONLY' } : { payload: null }));
    await client.getMap('m').set('k', 1);
    expect(requests).toEqual(['put', 'put', 'put', 'put', 'put']);
    expect(client.pendingWrites()).toBe(0);
  });
});
