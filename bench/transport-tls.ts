/**
 * What mutual TLS costs the TCP transport: sequential request round trips and 64 KiB
 * bulk frames, plain and TLS measured back to back in one run, with the ratio. The
 * certificates are made by `openssl` in a temporary directory, as in the TLS tests.
 */
import { performance } from 'node:perf_hooks';
import { summarize, type Row } from './harness.js';
import { ClusterTransport, type TlsMaterial } from '../src/transport/index.js';
import type { Message, MigrateData, Ping } from '../src/protocol/messages.js';
import { SeededRandom } from '../src/core/random.js';
import { makeTlsFixture } from '../test/transport/tls-fixtures.js';

/** Sequential requests timed per side, after a warm-up that also opens the connection. */
export const tlsRequestsCount = 3_000;
const tlsRequestsWarmupCount = 300;
/** Bulk frames per side, sent in windows so the write buffer bound is never reached. */
export const tlsBulkFramesCount = 400;
const bulkPayloadBytes = 64 * 1024;
const bulkWindowFrames = 32;
/** Give up waiting for bulk frames after this long. */
const deliveryDeadlineMs = 20_000;

function ping(seqNo: number): Ping {
  return { type: 'Ping', seqNo, from: 'bench-a', target: 'bench-b', updates: [] };
}

async function pair(tls: TlsMaterial | undefined): Promise<[ClusterTransport, ClusterTransport]> {
  const a = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-a', tls });
  const b = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-b', tls });
  await a.start();
  await b.start();
  return [a, b];
}

async function roundTrips(tls: TlsMaterial | undefined): Promise<{ meanMs: number; p50: number; p99: number }> {
  const [a, b] = await pair(tls);
  b.onRequest((_from, message: Message) => ({ type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : 0, from: 'bench-b', updates: [] }));
  try {
    for (let i = 0; i < tlsRequestsWarmupCount; i++) await a.request(b.address(), ping(i));
    const samples: number[] = [];
    for (let i = 0; i < tlsRequestsCount; i++) {
      const t0 = performance.now();
      await a.request(b.address(), ping(i));
      samples.push(performance.now() - t0);
    }
    const { mean, p50, p99 } = summarize(samples);
    return { meanMs: mean, p50, p99 };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function bulk(tls: TlsMaterial | undefined): Promise<number> {
  const [a, b] = await pair(tls);
  let received = 0;
  b.onMessage(() => received++);
  const random = new SeededRandom(42);
  const payload = Uint8Array.from({ length: bulkPayloadBytes }, () => random.int(256));
  const chunk = (seq: number): MigrateData => ({ type: 'MigrateData', migrationId: 'bench', partition: 1, service: 'grid', kind: 'chunk', seq, payload, last: false });
  try {
    await a.send({ to: b.address(), channel: 'tcp', message: chunk(0) });
    const start = performance.now();
    for (let i = 0; i < tlsBulkFramesCount; i += bulkWindowFrames) {
      const window: Promise<void>[] = [];
      for (let j = i; j < Math.min(tlsBulkFramesCount, i + bulkWindowFrames); j++) window.push(a.send({ to: b.address(), channel: 'tcp', message: chunk(j) }));
      await Promise.all(window);
    }
    while (received < tlsBulkFramesCount + 1 && performance.now() - start < deliveryDeadlineMs) await new Promise((resolve) => setImmediate(resolve));
    const seconds = (performance.now() - start) / 1000;
    return ((received - 1) * bulkPayloadBytes) / seconds / 1e6;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Rows of the TLS suite: plain and TLS side by side, and TLS / plain. */
export async function tlsComparisonRows(): Promise<Row[]> {
  const fixture = makeTlsFixture();
  try {
    const tls = fixture.material('node');
    const plainTrip = await roundTrips(undefined);
    const tlsTrip = await roundTrips(tls);
    const plainBulk = await bulk(undefined);
    const tlsBulk = await bulk(tls);
    return [
      { case: 'request round trip (Ping -> Ack), sequential', plain: `${plainTrip.meanMs.toFixed(3)} ms mean, p99 ${plainTrip.p99.toFixed(3)}`, tls: `${tlsTrip.meanMs.toFixed(3)} ms mean, p99 ${tlsTrip.p99.toFixed(3)}`, 'tls / plain': tlsTrip.meanMs / plainTrip.meanMs },
      { case: '64 KiB MigrateData frames', plain: `${plainBulk.toFixed(0)} MB/s`, tls: `${tlsBulk.toFixed(0)} MB/s`, 'tls / plain': tlsBulk / plainBulk },
    ];
  } finally {
    fixture.remove();
  }
}
