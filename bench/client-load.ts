/**
 * A worker thread of the client benchmark: it holds some of the `FlotillaClient`s and
 * runs the cases the main thread asks for, so the clients' CPU (WebSocket framing,
 * msgpack, promises, GC) is spread over threads of their own instead of one event loop,
 * and the bench measures the node rather than its own process. Each lane writes keys of
 * its own with a counter in the value, so after a write case the worker can read every key
 * back and count acknowledged writes the node did not keep.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SocketConstructor } from '../src/client-platform/index.js';
import { encodeClientFrame } from '../src/protocol/client-frames.js';
import { encodeValue } from '../src/protocol/map-values.js';

/** What the main thread gives each worker. */
export interface LoadSetup {
  readonly url: string;
  readonly token: string;
  /** Clients this worker opens. */
  readonly clients: number;
  /** Index of this worker's first client among all the bench's clients (names its keys). */
  readonly firstClient: number;
}

/** One case, as the main thread asks it. */
export interface LoadCase {
  readonly type: 'run';
  readonly op: 'set' | 'get';
  /** Operations in flight per client (1: one at a time). */
  readonly window: number;
  /** How many of this worker's clients take part. */
  readonly clients: number;
  readonly durationMs: number;
  /** Distinct keys per lane (each lane has keys of its own). */
  readonly keysPerLane: number;
}

/**
 * The baseline case: `clients` plain `ws` sockets to the echo server at `url`, each sending
 * the OP frame of a set and waiting for its answer, one at a time.
 */
export interface EchoCase {
  readonly type: 'echo';
  readonly url: string;
  readonly clients: number;
  readonly durationMs: number;
}

/** A worker's answer to one case. */
export interface LoadResult {
  readonly type: 'result';
  /** Per-operation latencies, ms. */
  readonly samples: Float64Array;
  /** Wall-clock start and end of the measured window (epoch ms, sub-ms precision). */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A worker's answer to `verify`: the keys of its last set case read back, and how many did not hold their last acknowledged value. */
export interface VerifyResult {
  readonly type: 'verified';
  readonly verified: number;
  readonly lost: number;
}

/** A 100-character string, as in the bench's notes. */
const TEXT = 'x'.repeat(100);
/** Reads in flight per client while verifying. */
const VERIFY_WINDOW = 64;
/** Longest wait for new clients to route, ms, and the pause between two looks. */
const CONNECT_TIMEOUT_MS = 30_000;
const CONNECT_POLL_MS = 50;

/** The frame a set of the bench sends (the value as the lanes write it). */
const SET_FRAME = encodeClientFrame({ type: 'OP', op: { id: 123_456, map: 'bench', op: 'put', key: 'c1-l0-k123', value: encodeValue({ v: TEXT, n: 123_456 }), forward: false } }).slice();

/**
 * The client as users run it: the build's JavaScript (`npm run build`), not the sources
 * through tsx, whose transform wraps every closure made on the hot path in a naming call;
 * the sources only when there is no build.
 */
const BUILT_CLIENT = new URL('../dist/src/client-platform/index.js', import.meta.url);
const { FlotillaClient } = (existsSync(fileURLToPath(BUILT_CLIENT)) ? await import(BUILT_CLIENT.href) : await import('../src/client-platform/index.js')) as typeof import('../src/client-platform/index.js');
type FlotillaClient = InstanceType<typeof FlotillaClient>;

const setup = workerData as LoadSetup;
const clients: FlotillaClient[] = [];
/** Per key written by the last set case: the counter of its last acknowledged write. */
let lastAcked = new Map<string, number>();

function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** `count` new clients, once each routes by the node's partition map. */
async function openClients(count: number): Promise<FlotillaClient[]> {
  const opened = Array.from({ length: count }, () => new FlotillaClient({ cluster: { seeds: [setup.url] }, authToken: setup.token, WebSocket: WebSocket as unknown as SocketConstructor }));
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  while (!opened.every((c) => c.isRoutingActive())) {
    if (Date.now() > deadline) {
      for (const c of opened) c.close();
      throw new Error(`client bench: clients not routing after ${CONNECT_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, CONNECT_POLL_MS));
  }
  return opened;
}

function keyOf(client: number, lane: number, i: number): string {
  return `c${setup.firstClient + client}-l${lane}-k${i}`;
}

async function runCase(c: LoadCase): Promise<LoadResult> {
  const samples: number[] = [];
  const acked = new Map<string, number>();
  const startedAt = epochNow();
  const end = performance.now() + c.durationMs;
  const lane = async (client: FlotillaClient, ci: number, li: number): Promise<void> => {
    const map = client.getMap('bench');
    for (let n = 0; performance.now() < end; n++) {
      const key = keyOf(ci, li, n % c.keysPerLane);
      const t0 = performance.now();
      if (c.op === 'set') {
        await map.set(key, { v: TEXT, n });
        acked.set(key, n);
      } else {
        await map.get(key);
      }
      samples.push(performance.now() - t0);
    }
  };
  const used = clients.slice(0, c.clients);
  await Promise.all(used.flatMap((client, ci) => Array.from({ length: c.window }, (_, li) => lane(client, ci, li))));
  const endedAt = epochNow();
  if (c.op === 'set') lastAcked = acked;
  return { type: 'result', samples: Float64Array.from(samples), startedAt, endedAt };
}

/**
 * Read each written key back and count the values that are not the last acknowledged.
 * A fresh client reads them: one that wrote them would answer from its own copy whenever
 * the node returned an older version, and so hide a lost write.
 */
async function verify(acked: ReadonlyMap<string, number>): Promise<VerifyResult> {
  const [reader] = await openClients(1);
  const map = reader!.getMap('bench');
  const todo = [...acked];
  let next = 0;
  let lost = 0;
  const lane = async (): Promise<void> => {
    while (next < todo.length) {
      const [key, n] = todo[next++]!;
      const value = (await map.get(key)) as { n?: number } | undefined;
      if (value?.n !== n) lost++;
    }
  };
  try {
    await Promise.all(Array.from({ length: VERIFY_WINDOW }, lane));
  } finally {
    reader!.close();
  }
  return { type: 'verified', verified: acked.size, lost };
}

/** The baseline: one WebSocket round trip per operation with nothing of Flotilla around it. */
async function runEcho(c: EchoCase): Promise<LoadResult> {
  const sockets = await Promise.all(
    Array.from({ length: c.clients }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(c.url, { perMessageDeflate: false });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })),
  );
  const samples: number[] = [];
  const startedAt = epochNow();
  const end = performance.now() + c.durationMs;
  await Promise.all(
    sockets.map((ws) => new Promise<void>((resolve) => {
      let t0 = performance.now();
      ws.on('message', () => {
        const now = performance.now();
        samples.push(now - t0);
        if (now >= end) return resolve();
        t0 = now;
        ws.send(SET_FRAME);
      });
      ws.send(SET_FRAME);
    })),
  );
  const endedAt = epochNow();
  for (const ws of sockets) ws.close();
  return { type: 'result', samples: Float64Array.from(samples), startedAt, endedAt };
}

const port = parentPort!;
const fail = (error: unknown): void => port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
port.on('message', (message: LoadCase | EchoCase | { type: 'verify' } | { type: 'close' }) => {
  if (message.type === 'echo') {
    void runEcho(message).then((result) => port.postMessage(result, [result.samples.buffer as ArrayBuffer]), fail);
  } else if (message.type === 'close') {
    for (const c of clients) c.close();
    port.close();
  } else if (message.type === 'verify') {
    void verify(lastAcked).then((result) => port.postMessage(result), fail);
  } else {
    void runCase(message).then((result) => port.postMessage(result, [result.samples.buffer as ArrayBuffer]), fail);
  }
});
void openClients(setup.clients).then(
  (opened) => {
    clients.push(...opened);
    port.postMessage({ type: 'ready' });
  },
  fail,
);
