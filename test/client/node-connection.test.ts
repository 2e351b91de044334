// One client connection's call deadlines, on a virtual clock: every call times out
// FLO_TIMEOUT exactly when its own `requestTimeoutMs` has passed (the connection keeps one
// timer for all of them, due at the oldest deadline), an answered call never does, and
// closing leaves no timer behind. The gateway is scripted behind an in-process socket.
import { describe, expect, it } from 'vitest';
import { resolveClientConfig } from '../../src/client/client-config.js';
import { NodeConnection, type ConnectionHooks, type OpAnswer } from '../../src/client/node-connection.js';
import type { SocketConstructor } from '../../src/client/socket.js';
import { SeededRandom } from '../../src/core/random.js';
import type { ClientFrame } from '../../src/protocol/client-frames.js';
import { HeldTimers } from '../fixtures/timers.js';
import { ScriptedSocket } from './scripted-socket.js';

const TIMEOUT_MS = 1_000;

/** A gateway that authenticates, then answers only the ops on keys starting with "answered". */
const Gateway: SocketConstructor = class extends ScriptedSocket {
  protected receive(frame: ClientFrame): void {
    if (frame.type === 'AUTH') this.reply({ type: 'AUTH_ACK', nodeId: 'n1', expiresAt: null });
    const ops = frame.type === 'OP' ? [frame.op] : frame.type === 'BATCH' ? frame.ops : [];
    for (const op of ops) if (op.key?.startsWith('answered') === true) this.reply({ type: 'RESULT', id: op.id, payload: null });
  }
};

async function connected(timers: HeldTimers): Promise<NodeConnection> {
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const hooks: ConnectionHooks = {
    onMap: () => undefined,
    onReady: () => ready(),
    onDown: () => undefined,
    onAuthFailed: () => undefined,
    onEvent: () => undefined,
    onSubscribed: () => undefined,
    onEventsDropped: () => undefined,
  };
  const conn = new NodeConnection({
    url: 'ws://scripted',
    config: resolveClientConfig({ requestTimeoutMs: TIMEOUT_MS, breakerFailuresMax: 100 }),
    timers,
    random: new SeededRandom(1),
    Socket: Gateway,
    token: () => 't',
    hooks,
    subscriptions: () => [],
  });
  conn.open();
  await isReady;
  return conn;
}

/** The outcome of a call so far: its answer's type, the error code it failed with, or pending. */
function track(call: Promise<OpAnswer>): { outcome: string } {
  const state = { outcome: 'pending' };
  call.then(
    (answer) => (state.outcome = answer.type),
    (error: { code?: string }) => (state.outcome = error.code ?? 'error'),
  );
  return state;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a client connection: call deadlines', () => {
  it('times each unanswered call out at its own deadline, never an answered one', async () => {
    const timers = new HeldTimers(1_000);
    const conn = await connected(timers);
    const a = track(conn.call({ map: 'm', op: 'get', key: 'silent-a', value: null, forward: false }));
    const answered = track(conn.call({ map: 'm', op: 'get', key: 'answered', value: null, forward: false }));
    timers.advance(400);
    const b = track(conn.call({ map: 'm', op: 'get', key: 'silent-b', value: null, forward: false }));
    await settle();
    expect(answered.outcome).toBe('RESULT');

    timers.advance(TIMEOUT_MS - 401);
    await settle();
    expect([a.outcome, b.outcome]).toEqual(['pending', 'pending']);

    timers.advance(1);
    await settle();
    expect([a.outcome, b.outcome]).toEqual(['FLO_TIMEOUT', 'pending']);

    timers.advance(399);
    await settle();
    expect(b.outcome).toBe('pending');
    timers.advance(1);
    await settle();
    expect(b.outcome).toBe('FLO_TIMEOUT');
    // Nothing left to time out: no timer stays armed for it.
    expect(timers.pending.size).toBe(0);
  });

  it('fails the calls in flight on close and leaves no timer behind', async () => {
    const timers = new HeldTimers(1_000);
    const conn = await connected(timers);
    const a = track(conn.call({ map: 'm', op: 'get', key: 'silent', value: null, forward: false }));
    expect(timers.pending.size).toBe(1);
    conn.close();
    await settle();
    expect(a.outcome).toBe('FLO_CONNECTION_FAILED');
    expect(timers.pending.size).toBe(0);
  });
});
