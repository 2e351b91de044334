/**
 * The smart client's own cost per operation, with no network and no node: clients in this
 * process talk to an in-process gateway that speaks the real client frames (the tests'
 * scripted socket) and answers each frame's operations on the next turn. What the
 * client bench (client.bench.ts) cannot separate from the sockets, the node and the load
 * of the machine: routing, pending writes, the local copy, promises, frame encoding and
 * decoding, garbage collection. The gateway's own decoding and encoding are measured
 * alone in a row of their own, so the client's share is the difference.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { decodeClientFrame, encodeClientFrame, encodeServerFrame, type ClientFrame, type ClientOp, type ClientPartitionMap } from '../src/protocol/client-frames.js';
import { encodeValue } from '../src/protocol/map-values.js';
import { ScriptedSocket } from '../test/client/scripted-socket.js';
import { fmt, type Row, type Suite } from './harness.js';

/** The client as users run it: the build's JavaScript when there is one (see client-load.ts). */
const BUILT_CLIENT = new URL('../dist/src/client-platform/index.js', import.meta.url);
const CLIENTS = 10;
const WINDOW = 64;
const KEYS_PER_LANE = 16;
const CASE_MS = Math.max(500, Number(process.env.FLOTILLA_BENCH_CLIENT_MS ?? 3_000) || 3_000);
const WARMUP_MS = 1_500;
const TEXT = 'x'.repeat(100);
/** Decoding bound of the scripted gateway, bytes. */
const FRAME_BYTES_MAX = 1 << 20;

const MAP: ClientPartitionMap = { version: 1, partitionCount: 271, owners: Array.from({ length: 271 }, () => 0), nodes: [{ nodeId: 'n0', url: 'ws://n0' }], writable: true };
const READ_ANSWER = encodeValue([encodeValue({ v: TEXT, n: 1 }), 1_765_000_000_000, 0, 'n0']);
let counter = 0;

/** A write answer as an owner gives it: `[nil, millis, counter, node]`. */
function answerOf(op: ClientOp): Uint8Array {
  return op.op === 'get' ? READ_ANSWER : encodeValue([null, 1_765_000_000_000, counter++, 'n0']);
}

class Gateway extends ScriptedSocket {
  protected receive(frame: ClientFrame): void {
    if (frame.type === 'AUTH') {
      this.reply({ type: 'AUTH_ACK', nodeId: 'n0', expiresAt: null });
      this.reply({ type: 'PARTITION_MAP', map: MAP });
    } else if (frame.type === 'MAP_REQUEST') {
      this.reply({ type: 'PARTITION_MAP', map: MAP });
    } else if (frame.type === 'OP' || frame.type === 'BATCH') {
      const ops = frame.type === 'OP' ? [frame.op] : frame.ops;
      const results = ops.map((op) => ({ id: op.id, payload: answerOf(op) }));
      // Answered on the next turn, as a node answers what arrived in one.
      setImmediate(() => this.reply({ type: 'RESULTS', results }));
    }
  }
}

type Client = { getMap(name: string): { set(key: string, value: unknown): Promise<void>; get(key: string): Promise<unknown> }; isRoutingActive(): boolean; close(): void };

async function clients(): Promise<Client[]> {
  const module = (existsSync(fileURLToPath(BUILT_CLIENT)) ? await import(BUILT_CLIENT.href) : await import('../src/client-platform/index.js')) as typeof import('../src/client-platform/index.js');
  const opened = Array.from({ length: CLIENTS }, () => new module.FlotillaClient({ cluster: { seeds: ['ws://n0'] }, authToken: 't', WebSocket: Gateway as never }) as unknown as Client);
  const deadline = Date.now() + 10_000;
  while (!opened.every((c) => c.isRoutingActive())) {
    if (Date.now() > deadline) throw new Error('client-core bench: clients not routing');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return opened;
}

/** `op` from every lane of every client for `ms`; operations done and CPU µs per operation. */
async function load(all: readonly Client[], op: 'set' | 'get', ms: number): Promise<{ ops: number; cpuUs: number; wallMs: number }> {
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    all.flatMap((client, ci) =>
      Array.from({ length: WINDOW }, async (_, li) => {
        const map = client.getMap('bench');
        for (let n = 0; performance.now() < end; n++) {
          const key = `c${ci}-l${li}-k${n % KEYS_PER_LANE}`;
          if (op === 'set') await map.set(key, { v: TEXT, n });
          else await map.get(key);
          ops++;
        }
      }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  return { ops, cpuUs: (cpu.user + cpu.system) / ops, wallMs: performance.now() - t0 };
}

/** The scripted gateway's share alone: decode a full BATCH of sets, answer it, per operation. */
function gatewayShare(): number {
  const ops: ClientOp[] = Array.from({ length: WINDOW }, (_, i) => ({ id: i + 1, map: 'bench', op: 'put', key: `c1-l${i}-k3`, value: encodeValue({ v: TEXT, n: i }), forward: false }));
  const batch = encodeClientFrame({ type: 'BATCH', ops }).slice();
  const rounds = 5_000;
  const run = (): void => {
    const frame = decodeClientFrame(batch, FRAME_BYTES_MAX);
    if (frame.type !== 'BATCH') throw new Error('not a batch');
    encodeServerFrame({ type: 'RESULTS', results: frame.ops.map((op) => ({ id: op.id, payload: answerOf(op) })) });
  };
  for (let i = 0; i < 500; i++) run();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) run();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / (rounds * WINDOW);
}

async function run(): Promise<Row[]> {
  const all = await clients();
  const rows: Row[] = [];
  try {
    for (const op of ['set', 'get'] as const) {
      await load(all, op, WARMUP_MS);
      const r = await load(all, op, CASE_MS);
      console.log(`${op}: ${Math.round(r.ops / (r.wallMs / 1000))}/s, ${fmt(r.cpuUs)} us/op`);
      rows.push({ case: `${op}, ${CLIENTS} clients x ${WINDOW} in flight, scripted gateway in the same process`, 'ops/s': Math.round(r.ops / (r.wallMs / 1000)), 'CPU µs/op': fmt(r.cpuUs) });
    }
  } finally {
    for (const c of all) c.close();
  }
  const share = gatewayShare();
  rows.push({ case: `the scripted gateway alone: decode a BATCH of ${WINDOW} sets, encode their RESULTS`, 'ops/s': '-', 'CPU µs/op': fmt(share) });
  return rows;
}

export const suites: Suite[] = [
  {
    id: 'client-core',
    title: "Smart client: its own CPU per operation (no network, no node)",
    notes: [
      `${CLIENTS} clients in one process, ${WINDOW} operations in flight each, against an in-process gateway that`,
      `speaks the real client frames (test/client/scripted-socket.ts) and answers each frame's operations on the next`,
      `turn; ${CASE_MS / 1000} s per case after ${WARMUP_MS / 1000} s of warm-up. Sets write a 100-character string and a counter`,
      `(as the client bench does); gets read keys the client has no pending write for. CPU is the process's (user +`,
      `system) per operation: the clients' code, promises, frame encoding and decoding, garbage collection, and the`,
      `scripted gateway's decoding and encoding, which the last row measures alone; the client's own share is the`,
      `difference. The client is the build's JavaScript when \`npm run build\` ran (the sources through tsx otherwise).`,
      `No target: this is where the client bench's "clients CPU µs/op" comes from, without sockets.`,
    ].join('\n'),
    run,
  },
];
