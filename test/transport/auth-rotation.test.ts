// A previous cluster secret accepted during a rotation, over real sockets: a listener
// holding key B and accepting A takes dialers and datagrams proving either, answers each
// with the proof of the key it proved, and still refuses a third key; a node holding only
// A never accepts B. The accepted key is never used to send.
import { afterEach, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DatagramAuthenticator, deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { resolveTransportConfig } from '../../src/transport/config.js';
import type { Message } from '../../src/protocol/messages.js';
import { Harness, ping, rejection, waitFor } from './helpers.js';

const KEY_A = deriveFrameAuthKey('the-old-cluster-secret-0123', 'flotilla');
const KEY_B = deriveFrameAuthKey('the-new-cluster-secret-4567', 'flotilla');
const KEY_C = deriveFrameAuthKey('nobody-knows-this-one-89ab', 'flotilla');
const DEADLINE_MS = 15_000;

const harness = new Harness();
afterEach(async () => {
  await harness.closeAll();
});

function ack(message: Message): Message {
  return { type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : -1, from: 'rotating', updates: [] };
}

describe('accepted keys (rotation)', () => {
  it('a listener on B accepting A serves dialers on A and on B, and refuses C', async () => {
    const rotating = await harness.transport({ authKey: KEY_B, authKeysAccepted: [KEY_A] });
    rotating.t.onRequest((_from, message) => ack(message));
    for (const key of [KEY_A, KEY_B]) {
      const dialer = await harness.transport({ authKey: key });
      expect(await dialer.t.request(rotating.t.address(), ping(3), DEADLINE_MS)).toEqual(ack(ping(3)));
    }
    const intruder = await harness.transport({ authKey: KEY_C });
    expect(isFlotillaError(await rejection(intruder.t.request(rotating.t.address(), ping(1), DEADLINE_MS)), 'FLO_AUTH_FAILED')).toBe(true);
  });

  it('sends with its own key only: a node on A alone refuses its dial and its datagrams', async () => {
    const rotating = await harness.transport({ authKey: KEY_B, authKeysAccepted: [KEY_A] });
    const old = await harness.transport({ authKey: KEY_A });
    old.t.onRequest((_from, message) => ack(message));
    expect(isFlotillaError(await rejection(rotating.t.request(old.t.address(), ping(2), DEADLINE_MS)), 'FLO_AUTH_FAILED')).toBe(true);
    await rotating.t.send({ to: old.t.address(), channel: 'udp', message: ping(4) });
    await waitFor(() => (old.t.stats().udp.dropped['auth'] ?? 0) === 1, DEADLINE_MS, 'the datagram refused as auth');
    expect(old.inbox).toHaveLength(0);
  });

  it('takes datagrams tagged with A or B, and drops C', async () => {
    const rotating = await harness.transport({ authKey: KEY_B, authKeysAccepted: [KEY_A] });
    for (const [i, key] of [KEY_A, KEY_B, KEY_C].entries()) {
      const sender = await harness.transport({ authKey: key });
      await sender.t.send({ to: rotating.t.address(), channel: 'udp', message: ping(10 + i) });
    }
    await waitFor(() => rotating.inbox.length === 2 && (rotating.t.stats().udp.dropped['auth'] ?? 0) === 1, DEADLINE_MS, 'two datagrams in, one refused');
    expect(rotating.inbox.map((r) => (r.message as { seqNo: number }).seqNo).sort()).toEqual([10, 11]);
  });

  it('DatagramAuthenticator opens its own and accepted tags, seals with its own', () => {
    const body = new Uint8Array([1, 2, 3]);
    const rotating = new DatagramAuthenticator(KEY_B, [KEY_A]);
    expect([...(rotating.open(new DatagramAuthenticator(KEY_A).seal(body)) ?? [])]).toEqual([1, 2, 3]);
    expect([...(rotating.open(new DatagramAuthenticator(KEY_B).seal(body)) ?? [])]).toEqual([1, 2, 3]);
    expect(rotating.open(new DatagramAuthenticator(KEY_C).seal(body))).toBeUndefined();
    expect(rotating.seal(body)).toEqual(new DatagramAuthenticator(KEY_B).seal(body));
  });

  it.each([
    ['without authKey', { authKeysAccepted: [KEY_A] }],
    ['a short key', { authKey: KEY_B, authKeysAccepted: [new Uint8Array(4)] }],
    ['too many keys', { authKey: KEY_B, authKeysAccepted: [KEY_A, KEY_C, KEY_A] }],
  ])('refuses accepted keys %s', (_name, config) => {
    expect(() => resolveTransportConfig(config)).toThrow(/authKeysAccepted/);
  });
});
