/**
 * What frame authentication costs the transport: UDP datagrams per second (each tagged and
 * verified with HMAC-SHA256) and sequential TCP request round trips (authenticated once per
 * connection), without and with the frame key, measured back to back in one run.
 */
import { performance } from 'node:perf_hooks';
import { summarize, type Row } from './harness.js';
import { ClusterTransport, deriveFrameAuthKey } from '../src/transport/index.js';
import type { Message, Ping } from '../src/protocol/messages.js';

/** Datagrams sent per side. */
export const authDatagramsCount = 30_000;
/** Sequential requests timed per side, after a warm-up that also opens (and authenticates) the connection. */
export const authRequestsCount = 3_000;
const requestsWarmupCount = 300;
/** Sends issued before waiting for them to be handed to the OS (keeps under udpSendsInFlightMax). */
const udpBatchSize = 64;
/** Datagrams sent but not yet received before the sender pauses (fits the default receive buffer). */
const udpOutstandingMax = 128;
/** Give up waiting for stragglers after this long (UDP may drop under load). */
const deliveryDeadlineMs = 10_000;

const benchKey = deriveFrameAuthKey('benchmark-cluster-secret-0123456789', 'bench');

function ping(seqNo: number): Ping {
  return { type: 'Ping', seqNo, from: 'bench-a', target: 'bench-b', updates: [] };
}

async function pair(authKey: Uint8Array | undefined): Promise<[ClusterTransport, ClusterTransport]> {
  const a = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-a', authKey });
  const b = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-b', authKey });
  await a.start();
  await b.start();
  return [a, b];
}

async function delivered(count: () => number, target: number): Promise<void> {
  const start = performance.now();
  while (count() < target && performance.now() - start < deliveryDeadlineMs) await new Promise((resolve) => setImmediate(resolve));
}

async function datagrams(authKey: Uint8Array | undefined): Promise<{ perSecond: number; lossPct: number }> {
  const [a, b] = await pair(authKey);
  let received = 0;
  b.onMessage(() => received++);
  try {
    const start = performance.now();
    for (let i = 0; i < authDatagramsCount; i += udpBatchSize) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(authDatagramsCount, i + udpBatchSize); j++) batch.push(a.send({ to: b.address(), channel: 'udp', message: ping(j) }));
      await Promise.all(batch);
      await delivered(() => received + udpOutstandingMax, i + udpBatchSize);
    }
    await delivered(() => received, authDatagramsCount);
    const seconds = (performance.now() - start) / 1000;
    return { perSecond: received / seconds, lossPct: (100 * (authDatagramsCount - received)) / authDatagramsCount };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function roundTrips(authKey: Uint8Array | undefined): Promise<{ p50: number; p99: number }> {
  const [a, b] = await pair(authKey);
  b.onRequest((_from, message: Message) => ({ type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : 0, from: 'bench-b', updates: [] }));
  try {
    for (let i = 0; i < requestsWarmupCount; i++) await a.request(b.address(), ping(i));
    const samples: number[] = [];
    for (let i = 0; i < authRequestsCount; i++) {
      const t0 = performance.now();
      await a.request(b.address(), ping(i));
      samples.push(performance.now() - t0);
    }
    const { p50, p99 } = summarize(samples);
    return { p50, p99 };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Rounds of each case, alternating plain and authenticated so warm-up and load hit both alike. */
export const authRoundsCount = 3;

/** Rows of the authentication suite: unauthenticated and authenticated side by side (best round of each), and their ratio. */
export async function authComparisonRows(): Promise<Row[]> {
  const udp: { perSecond: number; lossPct: number }[][] = [[], []];
  const trips: { p50: number; p99: number }[][] = [[], []];
  for (let round = 0; round < authRoundsCount; round++) {
    for (const [side, key] of [undefined, benchKey].entries()) {
      udp[side]!.push(await datagrams(key));
      trips[side]!.push(await roundTrips(key));
    }
  }
  const fastest = <T extends { perSecond: number }>(runs: T[]): T => runs.reduce((best, r) => (r.perSecond > best.perSecond ? r : best));
  const quickest = <T extends { p50: number }>(runs: T[]): T => runs.reduce((best, r) => (r.p50 < best.p50 ? r : best));
  const [plainUdp, authUdp] = [fastest(udp[0]!), fastest(udp[1]!)];
  const [plainTrip, authTrip] = [quickest(trips[0]!), quickest(trips[1]!)];
  return [
    {
      case: 'UDP Ping datagrams',
      plain: `${plainUdp.perSecond.toFixed(0)} msgs/s (loss ${plainUdp.lossPct.toFixed(2)}%)`,
      authenticated: `${authUdp.perSecond.toFixed(0)} msgs/s (loss ${authUdp.lossPct.toFixed(2)}%)`,
      'auth / plain': authUdp.perSecond / plainUdp.perSecond,
    },
    {
      case: 'TCP request round trip (Ping -> Ack), sequential',
      plain: `p50 ${plainTrip.p50.toFixed(3)} ms, p99 ${plainTrip.p99.toFixed(3)}`,
      authenticated: `p50 ${authTrip.p50.toFixed(3)} ms, p99 ${authTrip.p99.toFixed(3)}`,
      'auth / plain': authTrip.p50 / plainTrip.p50,
    },
  ];
}
