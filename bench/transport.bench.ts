/**
 * Transport throughput and latency between two `ClusterTransport`s on 127.0.0.1: small
 * TCP frames and UDP datagrams per second, bulk TCP bytes per second, and the round trip
 * of a small TCP request. Counts are bounded so the suite runs in seconds.
 */
import { performance } from 'node:perf_hooks';
import { summarize, type Row, type Suite } from './harness.js';
import { ClusterTransport } from '../src/transport/index.js';
import type { Message, MigrateData, Ping } from '../src/protocol/messages.js';
import { SeededRandom } from '../src/core/random.js';
import { tlsBulkFramesCount, tlsComparisonRows, tlsRequestsCount } from './transport-tls.js';
import { authComparisonRows, authDatagramsCount, authRequestsCount, authRoundsCount } from './transport-auth.js';

const smallMessagesCount = 50_000;
const bulkFramesCount = 1_000;
const bulkPayloadBytes = 64 * 1024;
/** Bulk frames in flight at once: 4 MiB, well inside the default 32 MiB write buffer. */
const bulkWindowFrames = 64;
const requestsCount = 5_000;
const requestsWarmupCount = 500;
/** Sends issued before waiting for them to be handed to the OS (keeps UDP under udpSendsInFlightMax). */
const udpBatchSize = 64;
/** Datagrams sent but not yet received before the sender pauses (fits the default receive buffer). */
const udpOutstandingMax = 128;
/** Give up waiting for stragglers after this long (UDP may drop under load). */
const deliveryDeadlineMs = 10_000;

function ping(seqNo: number): Ping {
  return { type: 'Ping', seqNo, from: 'bench-a', target: 'bench-b', updates: [] };
}

async function pair(): Promise<[ClusterTransport, ClusterTransport]> {
  const a = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-a' });
  const b = new ClusterTransport({ host: '127.0.0.1', port: 0, nodeId: 'bench-b' });
  await a.start();
  await b.start();
  return [a, b];
}

/** Resolves when `count()` reaches `target` or stops moving past the deadline. */
async function delivered(count: () => number, target: number): Promise<void> {
  const start = performance.now();
  while (count() < target && performance.now() - start < deliveryDeadlineMs) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function row(name: string, count: number, seconds: number, bytes: number, extra: Partial<Row> = {}): Row {
  return {
    case: name,
    messages: count,
    'msgs/s': count / seconds,
    'MB/s': bytes / seconds / 1e6,
    'p50 ms': '-',
    'p99 ms': '-',
    notes: '',
    ...extra,
  };
}

async function tcpSmall(): Promise<Row> {
  const [a, b] = await pair();
  let received = 0;
  b.onMessage(() => received++);
  try {
    await a.send({ to: b.address(), channel: 'tcp', message: ping(0) });
    await delivered(() => received, 1);
    received = 0;
    const bytesBefore = a.stats().tcp.pool.bytesOut;
    const start = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < smallMessagesCount; i++) sends.push(a.send({ to: b.address(), channel: 'tcp', message: ping(i) }));
    await Promise.all(sends);
    await delivered(() => received, smallMessagesCount);
    const seconds = (performance.now() - start) / 1000;
    return row('TCP Ping frames', received, seconds, a.stats().tcp.pool.bytesOut - bytesBefore);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function tcpBulk(): Promise<Row> {
  const [a, b] = await pair();
  let received = 0;
  b.onMessage(() => received++);
  const random = new SeededRandom(42);
  const payload = Uint8Array.from({ length: bulkPayloadBytes }, () => random.int(256));
  const chunk = (seq: number): MigrateData => ({
    type: 'MigrateData',
    migrationId: 'bench',
    partition: 1,
    service: 'grid',
    kind: 'chunk',
    seq,
    payload,
    last: false,
  });
  try {
    const start = performance.now();
    for (let i = 0; i < bulkFramesCount; i += bulkWindowFrames) {
      const window: Promise<void>[] = [];
      for (let j = i; j < Math.min(bulkFramesCount, i + bulkWindowFrames); j++) {
        window.push(a.send({ to: b.address(), channel: 'tcp', message: chunk(j) }));
      }
      await Promise.all(window);
    }
    await delivered(() => received, bulkFramesCount);
    const seconds = (performance.now() - start) / 1000;
    return row('TCP 64 KiB MigrateData frames', received, seconds, a.stats().tcp.pool.bytesOut);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function udpSmall(): Promise<Row> {
  const [a, b] = await pair();
  let received = 0;
  b.onMessage(() => received++);
  try {
    const start = performance.now();
    for (let i = 0; i < smallMessagesCount; i += udpBatchSize) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(smallMessagesCount, i + udpBatchSize); j++) {
        batch.push(a.send({ to: b.address(), channel: 'udp', message: ping(j) }));
      }
      await Promise.all(batch);
      // Sender and receiver share one event loop: let the receiver drain its socket buffer
      // (a few hundred small datagrams fit) before sending more, or the kernel drops them.
      await delivered(() => received + udpOutstandingMax, i + udpBatchSize);
    }
    await delivered(() => received, smallMessagesCount);
    const seconds = (performance.now() - start) / 1000;
    const lossPct = (100 * (smallMessagesCount - received)) / smallMessagesCount;
    return row('UDP Ping datagrams', received, seconds, b.stats().udp.bytesIn, { notes: `loss ${lossPct.toFixed(2)}%` });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function requestLatency(): Promise<Row> {
  const [a, b] = await pair();
  b.onRequest((_from, message: Message) => ({ type: 'Ack', seqNo: message.type === 'Ping' ? message.seqNo : 0, from: 'bench-b', updates: [] }));
  try {
    for (let i = 0; i < requestsWarmupCount; i++) await a.request(b.address(), ping(i));
    const samples: number[] = [];
    const start = performance.now();
    for (let i = 0; i < requestsCount; i++) {
      const t0 = performance.now();
      await a.request(b.address(), ping(i));
      samples.push(performance.now() - t0);
    }
    const seconds = (performance.now() - start) / 1000;
    const { p50, p99 } = summarize(samples);
    return row('TCP request round trip (Ping -> Ack), sequential', requestsCount, seconds, 0, {
      'MB/s': '-',
      'p50 ms': p50,
      'p99 ms': p99,
    });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

export const suites: Suite[] = [
  {
    id: 'transport',
    title: 'Transport: loopback throughput and request latency',
    notes: [
      'Two `ClusterTransport`s on 127.0.0.1 in one process (so sender and receiver share',
      'one event loop). Messages are encoded and validated by the protocol codec on both',
      `sides. Small cases send ${smallMessagesCount.toLocaleString('en-US')} Pings; the bulk case sends`,
      `${bulkFramesCount.toLocaleString('en-US')} MigrateData frames of 64 KiB; the latency case runs`,
      `${requestsCount.toLocaleString('en-US')} sequential requests after a warm-up. UDP is sent in batches of`,
      `${udpBatchSize}, pausing while more than ${udpOutstandingMax} are unreceived (one event loop serves both`,
      'ends, and the kernel drops datagrams past the receive buffer); loss is reported. MB/s counts wire bytes sent (TCP) or',
      'received (UDP). Target: TCP and UDP well above a SWIM cluster\'s needs (a few thousand',
      'messages/s per node); request p99 under 1 ms on an idle machine.',
    ].join('\n'),
    async run(): Promise<Row[]> {
      return [await tcpSmall(), await udpSmall(), await tcpBulk(), await requestLatency()];
    },
  },
  {
    id: 'transport-tls',
    title: 'Transport: mutual TLS versus plain TCP',
    notes: [
      'The same two-`ClusterTransport` setup on 127.0.0.1, run plain then with mutual TLS',
      '(EC P-256 certificates from a test CA, TLS 1.3) in one process and one run.',
      `${tlsRequestsCount.toLocaleString('en-US')} sequential Ping -> Ack requests after a warm-up on an open connection, and`,
      `${tlsBulkFramesCount.toLocaleString('en-US')} MigrateData frames of 64 KiB. The last column is TLS over plain: above 1 for`,
      'latency means slower, below 1 for throughput means slower. The handshake is paid once per',
      'pooled connection and is not in these numbers. Target: request latency within 1.5x of plain.',
    ].join('\n'),
    run: tlsComparisonRows,
  },
  {
    id: 'transport-auth',
    title: 'Transport: authenticated frames versus unauthenticated',
    notes: [
      'The same two-`ClusterTransport` setup on 127.0.0.1, run without a frame key and with one',
      '(as `startNode` always runs), in one process and one run. With the key every datagram',
      'carries a 16-byte HMAC-SHA256 tag computed by the sender and verified by the receiver',
      'before decoding; a TCP connection runs its challenge-response once, during the warm-up,',
      `and its frames are not tagged. ${authDatagramsCount.toLocaleString('en-US')} Ping datagrams (batches of 64, pausing`,
      `while more than 128 are unreceived) and ${authRequestsCount.toLocaleString('en-US')} sequential Ping -> Ack requests; each case runs`,
      `${authRoundsCount} rounds alternating plain and authenticated, and the best round of each is shown`,
      '(highest datagrams/s; lowest median round trip, which load from other processes disturbs least).',
      'The last column is authenticated over plain: below 1 for datagrams/s means slower,',
      'above 1 for latency means slower. Here one process pays both the sender\'s and the',
      'receiver\'s HMAC for every datagram; in a cluster each node pays one per datagram it',
      'sends or receives. Target: datagrams at least 0.5x (still far above what SWIM sends),',
      'round trips within 1.1x of unauthenticated.',
    ].join('\n'),
    run: authComparisonRows,
  },
];
