// Garbage datagrams against a node's UDP port, over real sockets: a sender rotating its
// source port still gets one warning line per reason, and many source addresses together
// get no more than the overall budget of lines, the rest counted as suppressed.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { parseAddress, warnLinesPerWindowMax } from '../../src/transport/index.js';
import { WarnOnce, warnWindowMs } from '../../src/transport/logger.js';
import { Harness, RecordingLogger, waitFor } from './helpers.js';

const KEY = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
const DEADLINE_MS = 15_000;

const harness = new Harness();
afterEach(() => harness.closeAll());

/** Sends `bytes` to `to` from a fresh socket bound to `fromIp` (so a fresh source port), then closes it. */
async function sendFromFreshPort(fromIp: string, to: string, bytes: Uint8Array): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => socket.bind(0, fromIp, resolve));
    const { host, port } = parseAddress(to);
    await new Promise<void>((resolve, reject) => socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())));
  } finally {
    socket.close();
  }
}

describe('UDP warnings under a flood', () => {
  it('logs one line for garbage from one address whatever source ports it rotates through', async () => {
    const logger = new RecordingLogger();
    const b = await harness.transport({ authKey: KEY }, logger);
    const datagrams = 500;
    // One at a time, each counted before the next: the kernel would drop a burst this large.
    for (let i = 0; i < datagrams; i++) {
      await sendFromFreshPort('127.0.0.1', b.t.address(), Buffer.from(`garbage-${i}-${'x'.repeat(20)}`));
      await waitFor(() => (b.t.stats().udp.dropped['auth'] ?? 0) === i + 1, DEADLINE_MS, `datagram ${i} counted`);
    }
    const udpLines = logger.lines.filter((l) => l.fields['channel'] === 'udp');
    expect(udpLines).toHaveLength(1);
    expect(udpLines[0]?.fields).toMatchObject({ source: '127.0.0.1', code: 'auth' });
    expect(b.t.stats().warnings.suppressed).toBeGreaterThanOrEqual(datagrams - 1);
  });

  it('holds garbage from many addresses to the overall budget, counting what it held back', async () => {
    const logger = new RecordingLogger();
    const b = await harness.transport({ authKey: KEY }, logger);
    const sources = warnLinesPerWindowMax * 3;
    // Every 127.0.0.0/8 address is the loopback interface on Linux.
    for (let i = 0; i < sources; i++) {
      await sendFromFreshPort(`127.0.1.${i + 1}`, b.t.address(), Buffer.from(`garbage-from-${i}-${'x'.repeat(20)}`));
      await waitFor(() => (b.t.stats().udp.dropped['auth'] ?? 0) === i + 1, DEADLINE_MS, `datagram ${i} counted`);
    }
    const udpLines = logger.lines.filter((l) => l.fields['channel'] === 'udp');
    expect(udpLines.length).toBe(warnLinesPerWindowMax);
    expect(b.t.stats().warnings).toMatchObject({ logged: warnLinesPerWindowMax, suppressed: sources - warnLinesPerWindowMax });
  });
});

describe('WarnOnce budget', () => {
  it('refills each window, and the first line after a held-back stretch says how many were held back', () => {
    const logger = new RecordingLogger();
    let now = 0;
    const warn = new WarnOnce(logger, () => now);
    for (let i = 0; i < warnLinesPerWindowMax + 5; i++) warn.warn(`10.0.0.${i}`, 'auth', {}, 'dropped');
    expect(logger.lines).toHaveLength(warnLinesPerWindowMax);
    now += warnWindowMs;
    expect(warn.warn('10.0.1.1', 'auth', {}, 'dropped')).toBe(true);
    expect(logger.lines.at(-1)?.fields['suppressed']).toBe(5);
    // A source held back by the budget was not remembered: it can log in a later window.
    expect(warn.warn(`10.0.0.${warnLinesPerWindowMax}`, 'auth', {}, 'dropped')).toBe(true);
    expect(warn.stats()).toEqual({ logged: warnLinesPerWindowMax + 2, suppressed: 5 });
  });
});
