import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { SeededRandom } from '../../src/core/random.js';
import { isFlotillaError } from '../../src/core/errors.js';
import { parseAddress } from '../../src/transport/index.js';
import { gossip, Harness, ping, randomBytes, RecordingLogger, waitFor } from './helpers.js';

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

describe('UDP', () => {
  it('exchanges datagrams both ways; the sender address is its cluster address', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(1) });
    await b.t.send({ to: a.t.address(), channel: 'udp', message: ping(2, 'node-b', 'node-a') });
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 5_000, 'both datagrams');
    expect(b.inbox[0]).toEqual({ from: a.t.address(), message: ping(1), channel: 'udp' });
    expect(a.inbox[0]).toEqual({ from: b.t.address(), message: ping(2, 'node-b', 'node-a'), channel: 'udp' });
    expect(a.t.stats().udp).toMatchObject({ datagramsOut: 1, datagramsIn: 1 });
  });

  it('refuses to send over the datagram budget, counted, with FLO_ENCODE_OVERSIZED', async () => {
    const a = await harness.transport({ udpDatagramBudgetBytes: 512 });
    const b = await harness.transport();
    let caught: unknown;
    try {
      await a.t.send({ to: b.t.address(), channel: 'udp', message: gossip('node-a', 2) });
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_ENCODE_OVERSIZED')).toBe(true);
    expect(a.t.stats().udp.dropped.FLO_ENCODE_OVERSIZED).toBe(1);
    expect(a.t.stats().udp.datagramsOut).toBe(0);
  });

  it('counts, logs once per source and code, and drops garbage while valid traffic flows', async () => {
    const logger = new RecordingLogger();
    const b = await harness.transport({}, logger);
    const a = await harness.transport();
    const raw = await rawUdp();
    const random = new SeededRandom(42);
    const garbage: Uint8Array[] = [
      ...Array.from({ length: 20 }, () => randomBytes(random, 1 + random.int(200))),
      Uint8Array.from([0xf1]),
      Uint8Array.from([0xf1, 0xee, 0x90]),
      Buffer.alloc(2000, 0xf1),
    ];
    for (const bytes of garbage) await sendRaw(raw, b.t.address(), bytes);
    for (let i = 0; i < 5; i++) await sendRaw(raw, b.t.address(), Uint8Array.from([0xf1]));
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(7) });
    const total = garbage.length + 5 + 1;
    await waitFor(() => b.t.stats().udp.datagramsIn === total, 5_000, 'all datagrams');
    const stats = b.t.stats().udp;
    const dropped = Object.values(stats.dropped).reduce((s, n) => s + n, 0);
    expect(dropped).toBe(garbage.length + 5);
    expect(stats.dropped.FLO_DECODE_OVERSIZED).toBe(1);
    expect(stats.dropped.FLO_DECODE_TRUNCATED).toBe(6);
    expect(stats.dropped.FLO_DECODE_UNKNOWN_TYPE).toBe(1);
    expect(b.inbox.map((r) => r.message)).toEqual([ping(7)]);
    const truncatedLogs = logger.lines.filter((l) => l.fields['code'] === 'FLO_DECODE_TRUNCATED');
    expect(truncatedLogs).toHaveLength(1);
    expect(logger.lines.length).toBeLessThanOrEqual(Object.keys(stats.dropped).length);
  });

  it('survives a throwing handler and counts it', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    let calls = 0;
    b.t.onMessage(() => {
      calls++;
      throw new Error('handler bug');
    });
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(1) });
    await waitFor(() => b.t.stats().udp.dropped['handler-error'] === 1, 5_000, 'handler error counted');
    expect(calls).toBe(1);
  });

  it('counts datagrams that arrive with no handler', async () => {
    const a = await harness.transport();
    const b = await harness.transport();
    b.t.onMessage(() => undefined)();
    await a.t.send({ to: b.t.address(), channel: 'udp', message: ping(1) });
    await waitFor(() => b.t.stats().udp.dropped['no-handler'] === 1, 5_000, 'no-handler counted');
  });
});
