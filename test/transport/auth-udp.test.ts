// Authenticated datagrams over real sockets: with the frame key every datagram carries an
// HMAC tag; datagrams from another secret or cluster, bare, or tampered with are dropped
// before decoding, counted as `auth` and logged once per source address, and the tag's bytes come
// out of the datagram budget.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { encode, encodedSize } from '../../src/protocol/index.js';
import type { Gossip } from '../../src/protocol/messages.js';
import { DATAGRAM_TAG_BYTES, DatagramAuthenticator, deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { parseAddress } from '../../src/transport/index.js';
import { gossip, Harness, ping, RecordingLogger, rejection, waitFor } from './helpers.js';

const KEY = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
const WRONG_SECRET = deriveFrameAuthKey('another-secret-entirely-456', 'flotilla');
const WRONG_CLUSTER = deriveFrameAuthKey('a-long-cluster-secret-0123', 'prod');
const DEADLINE_MS = 10_000;

const harness = new Harness();
const rawSockets: Socket[] = [];
afterEach(async () => {
  for (const socket of rawSockets) socket.close();
  rawSockets.length = 0;
  await harness.closeAll();
});

async function rawUdp(): Promise<Socket> {
  const socket = createSocket('udp4');
  rawSockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

function sendRaw(socket: Socket, to: string, bytes: Uint8Array): Promise<void> {
  const { host, port } = parseAddress(to);
  return new Promise((resolve, reject) => socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())));
}

function authDrops(stats: { dropped: Readonly<Partial<Record<string, number>>> }): number {
  return stats.dropped['auth'] ?? 0;
}

describe('authenticated UDP', () => {
  it('delivers datagrams between transports holding the same key, each one tag longer', async () => {
    const a = await harness.transport({ authKey: KEY });
    const b = await harness.transport({ authKey: KEY });
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(1) });
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the datagram');
    expect(b.inbox[0]).toEqual({ from: a.t.address(), message: ping(1), channel: 'udp' });
    expect(a.t.stats().udp.bytesOut).toBe(encodedSize(ping(1)) + DATAGRAM_TAG_BYTES);
    expect(b.t.stats().udp.dropped).toEqual({});
  });

  const wrongKeys: [string, Uint8Array | undefined][] = [
    ['another secret', WRONG_SECRET],
    ['another cluster id', WRONG_CLUSTER],
    ['no key at all', undefined],
  ];
  it.each(wrongKeys)('drops datagrams sealed with %s, counted as auth and logged once per source', async (_name, key) => {
    const logger = new RecordingLogger();
    const b = await harness.transport({ authKey: KEY }, logger);
    const intruder = await harness.transport(key === undefined ? {} : { authKey: key });
    const friend = await harness.transport({ authKey: KEY });
    for (let i = 0; i < 3; i++) await intruder.t.send({ to: b.t.address(), channel: 'udp', message: ping(i) });
    await friend.t.send({ to: b.t.address(), channel: 'udp', message: ping(9) });
    await waitFor(() => authDrops(b.t.stats().udp) === 3 && b.inbox.length === 1, DEADLINE_MS, 'three refusals and the friendly datagram');
    expect(b.inbox[0]?.from).toBe(friend.t.address());
    const lines = logger.lines.filter((l) => l.fields['code'] === 'auth');
    expect(lines).toHaveLength(1);
    // Keyed by IP, not ip:port: a sender cannot buy a line per datagram by rotating ports.
    expect(lines[0]?.fields['source']).toBe('127.0.0.1');
    expect(lines[0]?.fields['from']).toBe(intruder.t.address());
    expect(lines[0]?.message).toBe('dropped UDP datagram');
  });

  it('drops a datagram tampered with after sealing, and a bare one; delivers the intact one', async () => {
    const b = await harness.transport({ authKey: KEY });
    const raw = await rawUdp();
    const sealed = new DatagramAuthenticator(KEY).seal(encode(ping(5)));
    const tampered = Buffer.from(sealed);
    tampered[3] = tampered[3]! ^ 0x01;
    const badTag = Buffer.from(sealed);
    badTag[badTag.length - 1] = badTag[badTag.length - 1]! ^ 0x80;
    for (const datagram of [tampered, badTag, encode(ping(5))]) await sendRaw(raw, b.t.address(), datagram);
    await sendRaw(raw, b.t.address(), sealed);
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the intact datagram');
    await waitFor(() => authDrops(b.t.stats().udp) === 3, DEADLINE_MS, 'three refusals');
    expect(b.inbox[0]?.message).toEqual(ping(5));
    expect(b.t.stats().udp.dropped).toEqual({ auth: 3 });
  });

  it('still refuses datagrams over the budget before checking the tag', async () => {
    const b = await harness.transport({ authKey: KEY, udpDatagramBudgetBytes: 512 });
    const raw = await rawUdp();
    await sendRaw(raw, b.t.address(), new DatagramAuthenticator(KEY).seal(new Uint8Array(600)));
    await waitFor(() => (b.t.stats().udp.dropped.FLO_DECODE_OVERSIZED ?? 0) === 1, DEADLINE_MS, 'the oversized datagram');
    expect(authDrops(b.t.stats().udp)).toBe(0);
  });

  it('takes the tag out of the budget: a message filling the budget less the tag goes, one byte more is refused', async () => {
    const budget = 1_400;
    const a = await harness.transport({ authKey: KEY, udpDatagramBudgetBytes: budget });
    const b = await harness.transport({ authKey: KEY, udpDatagramBudgetBytes: budget });
    expect(a.t.udpMessageBytesMax).toBe(budget - DATAGRAM_TAG_BYTES);
    const fits = gossipOfSize(budget - DATAGRAM_TAG_BYTES);
    const over = gossipOfSize(budget - DATAGRAM_TAG_BYTES + 1);
    await a.t.send({ to: b.t.address(), channel: 'udp', message: fits });
    await waitFor(() => b.inbox.length === 1, DEADLINE_MS, 'the full datagram');
    expect(a.t.stats().udp.bytesOut).toBe(budget);
    const err = await rejection(a.t.send({ to: b.t.address(), channel: 'udp', message: over }));
    expect(isFlotillaError(err, 'FLO_ENCODE_OVERSIZED')).toBe(true);
  });

  it('leaves the whole budget to messages without a key', async () => {
    const a = await harness.transport({ udpDatagramBudgetBytes: 1_400 });
    expect(a.t.udpMessageBytesMax).toBe(1_400);
  });
});

/** A Gossip message whose encoding is exactly `bytes` long (found by padding tag values). */
function gossipOfSize(bytes: number): Gossip {
  for (let count = 2; count <= 4; count++) {
    const base = gossip('node-a', count, 300);
    const first = base.updates[0]!;
    if (first.type !== 'Alive') throw new Error('expected Alive');
    for (let pad = 0; pad <= 500; pad++) {
      const candidate: Gossip = { ...base, updates: [{ ...first, tags: { pad: 'x'.repeat(pad) } }, ...base.updates.slice(1)] };
      if (encodedSize(candidate) === bytes) return candidate;
    }
  }
  throw new Error(`no gossip of exactly ${bytes} bytes`);
}
