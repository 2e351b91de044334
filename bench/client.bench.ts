/**
 * The smart client against one `flotilla start` node serving clients (`--client`, HS256
 * JWT): map set and get from 1 and 10 clients, one operation at a time per client and
 * pipelined (64 in flight per client). The clients run in worker threads (client-load.ts),
 * not on the bench's own event loop, so what limits the rates is the node or the
 * machine, not one thread driving every client. Throughput counts acknowledged
 * operations; latency is per operation, from the call to its resolution; after each write
 * case every written key is read back by a fresh client, and a value that is not the last
 * acknowledged one counts as lost.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SignJWT } from 'jose';
import { jsonLines } from '../test/cli/cli-process.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EchoCase, LoadCase, LoadResult, LoadSetup, VerifyResult } from './client-load.js';
import { summarize, type Row, type Suite } from './harness.js';
import { assertRunnable, cpuTimeMs, freeAddress, killAll, nodeRunner, spawnNode, waitForAdmin, waitUntil, type BenchNode } from './node-processes.js';

/** How long each case runs, ms; override with `FLOTILLA_BENCH_CLIENT_MS`. */
const CASE_MS = Math.max(500, Number(process.env.FLOTILLA_BENCH_CLIENT_MS ?? 3_000) || 3_000);
/** Worker threads the clients are spread over; override with `FLOTILLA_BENCH_CLIENT_WORKERS`. */
const WORKERS = Math.min(10, Math.max(1, Number(process.env.FLOTILLA_BENCH_CLIENT_WORKERS ?? 2) || 2));
/** Clients in the many-clients cases. */
const CLIENTS = 10;
/** Operations in flight per client when pipelined. */
const WINDOW = 64;
/** Distinct keys written per case, split evenly between the lanes (each lane writes its own). */
const KEYS = 10_000;
const TARGET_WRITES_10 = 20_000;
const TARGET_WRITES_PIPELINED = 100_000;
/** Runs of the whole case list in one session (the node and clients stay up); override with `FLOTILLA_BENCH_CLIENT_RUNS`. */
const RUNS = Math.min(5, Math.max(1, Number(process.env.FLOTILLA_BENCH_CLIENT_RUNS ?? 1) || 1));
/** Unmeasured warm-up per operation and mode measured, ms. */
const WARMUP_MS = 1_500;
/** Longest wait for a worker's clients to connect, or for one case's answer beyond its duration, ms. */
const WORKER_TIMEOUT_MS = 60_000;
/**
 * A worker's entry: it loads client-load.ts through tsx's API, since Node 20 does not
 * carry the main thread's `--import tsx` hooks into worker threads.
 */
const WORKER_BOOT = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(new URL('./client-load.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`;
/** The echo server of the baseline row: built by `npm run build` (plain node, as the node runs), or the source through tsx. */
const ECHO_SERVER = fileURLToPath(new URL('./fixtures/ws-echo-server.ts', import.meta.url));
const ECHO_SERVER_BUILT = fileURLToPath(new URL('../dist/bench/fixtures/ws-echo-server.js', import.meta.url));
/** Longest wait for the node to stop on its own at the end, ms. */
const STOP_TIMEOUT_MS = 10_000;

type Mode = 'one at a time' | 'pipelined';

/** A worker thread and the clients it holds. */
interface LoadWorker {
  readonly worker: Worker;
  readonly clients: number;
}

function nextMessage<T>(worker: Worker, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`client bench: no answer from a worker in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: T | { type: 'error'; message: string }): void => done(undefined, m);
    const onError = (error: Error): void => done(error);
    function done(error?: Error, m?: T | { type: 'error'; message: string }): void {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      if (error !== undefined) reject(error);
      else if ((m as { type: string }).type === 'error') reject(new Error(`client bench worker: ${(m as { message: string }).message}`));
      else resolve(m as T);
    }
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}

/** Starts the worker threads (TypeScript through tsx, as the bench itself runs) and waits until their clients route. */
async function startWorkers(url: string, token: string): Promise<LoadWorker[]> {
  const workers: LoadWorker[] = [];
  let first = 0;
  for (let w = 0; w < WORKERS; w++) {
    const clients = Math.floor(CLIENTS / WORKERS) + (w < CLIENTS % WORKERS ? 1 : 0);
    const setup: LoadSetup = { url, token, clients, firstClient: first };
    first += clients;
    workers.push({ worker: new Worker(WORKER_BOOT, { eval: true, workerData: setup }), clients });
  }
  await Promise.all(workers.map((w) => nextMessage<{ type: 'ready' }>(w.worker, WORKER_TIMEOUT_MS)));
  return workers;
}

interface CaseResult {
  opsPerSec: number;
  p50: number;
  p99: number;
  /** CPU of the node and of the bench process (its worker threads), in % of one core. */
  nodeCpu: number;
  clientCpu: number;
  verified: number;
  lost: number;
}

async function runCase(node: BenchNode, workers: readonly LoadWorker[], count: number, op: 'set' | 'get', mode: Mode, durationMs = CASE_MS, verify = true): Promise<CaseResult> {
  const window = mode === 'pipelined' ? WINDOW : 1;
  const keysPerLane = Math.max(1, Math.floor(KEYS / (count * window)));
  // The first clients of each worker in turn, so that a case of fewer clients still uses the threads.
  let left = count;
  const shares = workers.map(() => 0);
  for (let w = 0; left > 0; w = (w + 1) % workers.length) {
    if (shares[w]! < workers[w]!.clients) {
      shares[w]!++;
      left--;
    }
  }
  const nodeCpu0 = cpuTimeMs(node.pid);
  const selfCpu0 = cpuTimeMs(process.pid);
  const wall0 = Date.now();
  const answers = await Promise.all(
    workers.map((w, i) => {
      if (shares[i] === 0) return undefined;
      const message: LoadCase = { type: 'run', op, window, clients: shares[i]!, durationMs, keysPerLane };
      const answer = nextMessage<LoadResult>(w.worker, durationMs + WORKER_TIMEOUT_MS);
      w.worker.postMessage(message);
      return answer;
    }),
  );
  const wall = Date.now() - wall0;
  const nodeCpu = ((cpuTimeMs(node.pid) - nodeCpu0) * 100) / wall;
  const clientCpu = ((cpuTimeMs(process.pid) - selfCpu0) * 100) / wall;
  const results = answers.filter((a): a is LoadResult => a !== undefined);
  let verified = 0;
  let lost = 0;
  if (verify && op === 'set') {
    // Outside the measured window: the workers read back what they wrote.
    const checks = await Promise.all(
      workers.map((w, i) => {
        if (shares[i] === 0) return undefined;
        const answer = nextMessage<VerifyResult>(w.worker, WORKER_TIMEOUT_MS);
        w.worker.postMessage({ type: 'verify' });
        return answer;
      }),
    );
    for (const c of checks) {
      verified += c?.verified ?? 0;
      lost += c?.lost ?? 0;
    }
  }
  const samples: number[] = [];
  for (const r of results) for (const s of r.samples) samples.push(s);
  const started = Math.min(...results.map((r) => r.startedAt));
  const ended = Math.max(...results.map((r) => r.endedAt));
  const { p50, p99 } = summarize(samples);
  return { opsPerSec: samples.length / ((ended - started) / 1000), p50, p99, nodeCpu, clientCpu, verified, lost };
}

/**
 * The floor: the same 10 clients' threads, each with a plain `ws` socket, sending a set's
 * OP frame one at a time to a `ws` server process that answers each with a set's RESULT
 * frame (bench/fixtures/ws-echo-server.ts). CPU is the server's and the bench process's.
 */
async function runEchoCase(workers: readonly LoadWorker[]): Promise<CaseResult> {
  const built = nodeRunner() !== 'tsx' && existsSync(ECHO_SERVER_BUILT);
  const child = spawn(process.execPath, built ? [ECHO_SERVER_BUILT] : ['--import', 'tsx', ECHO_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
      child.once('exit', (code) => reject(new Error(`client bench: the echo server exited (${code})`)));
    });
    const server0 = cpuTimeMs(child.pid!);
    const self0 = cpuTimeMs(process.pid);
    const wall0 = Date.now();
    const results = await Promise.all(
      workers.map((w) => {
        const answer = nextMessage<LoadResult>(w.worker, CASE_MS + WORKER_TIMEOUT_MS);
        w.worker.postMessage({ type: 'echo', url, clients: w.clients, durationMs: CASE_MS } satisfies EchoCase);
        return answer;
      }),
    );
    const wall = Date.now() - wall0;
    const samples: number[] = [];
    for (const r of results) for (const s of r.samples) samples.push(s);
    const started = Math.min(...results.map((r) => r.startedAt));
    const ended = Math.max(...results.map((r) => r.endedAt));
    const { p50, p99 } = summarize(samples);
    return {
      opsPerSec: samples.length / ((ended - started) / 1000),
      p50,
      p99,
      nodeCpu: ((cpuTimeMs(child.pid!) - server0) * 100) / wall,
      clientCpu: ((cpuTimeMs(process.pid) - self0) * 100) / wall,
      verified: 0,
      lost: 0,
    };
  } finally {
    child.stdin?.end();
    child.kill();
  }
}

function verdict(op: string, clients: number, mode: Mode, opsPerSec: number): string {
  if (op !== 'set') return '-';
  if (mode === 'pipelined' && clients === 10) return opsPerSec >= TARGET_WRITES_PIPELINED ? `met (${TARGET_WRITES_PIPELINED.toLocaleString('en-US')})` : `missed (${TARGET_WRITES_PIPELINED.toLocaleString('en-US')})`;
  if (mode === 'one at a time' && clients === 10) return opsPerSec >= TARGET_WRITES_10 ? `met (${TARGET_WRITES_10.toLocaleString('en-US')})` : `missed (${TARGET_WRITES_10.toLocaleString('en-US')})`;
  return '-';
}

/**
 * The cases: every op, client count and mode. For profiling, `FLOTILLA_BENCH_CLIENT_QUICK`
 * keeps the two target rows (`1`), or the one of a mode (`pipelined`, `one at a time`).
 */
function cases(): { op: 'set' | 'get'; count: number; mode: Mode }[] {
  const all = (['set', 'get'] as const).flatMap((op) => [1, CLIENTS].flatMap((count) => (['one at a time', 'pipelined'] as const).map((mode) => ({ op, count, mode }))));
  const quick = process.env.FLOTILLA_BENCH_CLIENT_QUICK;
  if (quick === undefined || quick === '') return all;
  return all.filter((c) => c.op === 'set' && c.count === CLIENTS && (quick === '1' || quick === c.mode));
}

/** Ends the node the way an operator's Ctrl-D would (so `--cpu-prof` in `FLOTILLA_BENCH_NODE_FLAGS` writes its profile), then kills what is left. */
async function stopNodes(nodes: readonly BenchNode[]): Promise<void> {
  for (const node of nodes) node.child.stdin?.end();
  await Promise.race([Promise.all(nodes.map((n) => n.exited)), new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS))]);
  await killAll(nodes);
}

async function run(): Promise<Row[]> {
  const runner = nodeRunner();
  assertRunnable(runner);
  const jwtSecret = randomBytes(32).toString('base64');
  const nodes: BenchNode[] = [];
  let workers: LoadWorker[] = [];
  try {
    const address = await freeAddress();
    const node = spawnNode(runner, 'c1', address, [address], undefined, { args: ['--client', '127.0.0.1:0'], env: { FLOTILLA_JWT_SECRET: jwtSecret } });
    nodes.push(node);
    await waitForAdmin(node);
    let url: string | undefined;
    await waitUntil(() => (url = jsonLines(node.lines).find((l) => l.msg === 'client gateway listening')?.url as string | undefined) !== undefined, 'the client gateway', 30_000);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('1h').sign(new TextEncoder().encode(jwtSecret));
    workers = await startWorkers(url!, token);
    // Warm up the node's and the workers' JIT on the paths measured (a profile of one mode then shows that mode alone).
    const measured = cases();
    for (const op of ['set', 'get'] as const) {
      for (const mode of ['pipelined', 'one at a time'] as const) {
        if (measured.some((c) => c.op === op && c.mode === mode)) await runCase(node, workers, CLIENTS, op, mode, WARMUP_MS, false);
      }
    }
    const rows: Row[] = [];
    for (let run = 1; run <= RUNS; run++) rows.push(...(await measureAll(node, workers, measured, run)));
    return rows;
  } finally {
    await Promise.all(workers.map((w) => { w.worker.postMessage({ type: 'close' }); return w.worker.terminate(); }));
    await stopNodes(nodes);
  }
}

/** One run of every case measured, then the floor row; `run` numbers the rows. */
async function measureAll(node: BenchNode, workers: readonly LoadWorker[], measured: readonly { op: 'set' | 'get'; count: number; mode: Mode }[], run: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const { op, count, mode } of measured) {
    const load = os.loadavg()[0]!;
    const r = await runCase(node, workers, count, op, mode);
    const nodeUs = (r.nodeCpu * 10_000) / r.opsPerSec;
    const clientUs = (r.clientCpu * 10_000) / r.opsPerSec;
    console.log(`${op} ${count} ${mode}: ${Math.round(r.opsPerSec)}/s, node ${Math.round(r.nodeCpu)}% ${nodeUs.toFixed(1)} us/op, clients ${Math.round(r.clientCpu)}% ${clientUs.toFixed(1)} us/op, load ${load.toFixed(1)}`);
    rows.push({
      run: String(run),
      op,
      clients: String(count),
      mode,
      'ops/s': r.opsPerSec,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'node CPU %': r.nodeCpu,
      'node CPU µs/op': nodeUs,
      'clients CPU µs/op': clientUs,
      'load avg': load.toFixed(1),
      'acked writes lost': op === 'set' ? `${r.lost} of ${r.verified.toLocaleString('en-US')} keys` : '-',
      target: verdict(op, count, mode, r.opsPerSec),
    });
  }
  const load = os.loadavg()[0]!;
  const echo = await runEchoCase(workers);
  const echoNodeUs = (echo.nodeCpu * 10_000) / echo.opsPerSec;
  const echoClientUs = (echo.clientCpu * 10_000) / echo.opsPerSec;
  console.log(`baseline ws echo ${CLIENTS} one at a time: ${Math.round(echo.opsPerSec)}/s, server ${Math.round(echo.nodeCpu)}% ${echoNodeUs.toFixed(1)} us/op, clients ${Math.round(echo.clientCpu)}% ${echoClientUs.toFixed(1)} us/op, load ${load.toFixed(1)}`);
  rows.push({
    run: String(run),
    op: 'baseline: ws echo, no Flotilla',
    clients: String(CLIENTS),
    mode: 'one at a time',
    'ops/s': echo.opsPerSec,
    'p50 ms': echo.p50,
    'p99 ms': echo.p99,
    'node CPU %': echo.nodeCpu,
    'node CPU µs/op': echoNodeUs,
    'clients CPU µs/op': echoClientUs,
    'load avg': load.toFixed(1),
    'acked writes lost': '-',
    target: '-',
  });
  return rows;
}

export const suites: Suite[] = [
  {
    id: 'client',
    title: 'Smart client: map set/get against one node',
    notes: [
      `One \`flotilla start --client\` node (its own process, from \`dist/\`; one owner for all 271`,
      `partitions, no backups) and 1 or ${CLIENTS} \`FlotillaClient\`s, each with its own WebSocket, in`,
      `${WORKERS} worker threads of the bench process (the clients split evenly, run from the sources through tsx;`,
      `\`FLOTILLA_BENCH_CLIENT_WORKERS\` changes it), so that no single event loop drives every client. The`,
      `node, the clients and other jobs share the machine's 2 cores: nothing here has a core of`,
      `its own, and the load average (1 minute, at the start of each case) says how busy the`,
      `machine was. Each case runs ${CASE_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up of each operation and mode; each lane (1 per`,
      `client, or ${WINDOW} pipelined: the client batches them into BATCH frames) writes keys of its own,`,
      `${KEYS.toLocaleString('en-US')} in all, with values of a 100-character string and a counter. A set counts once the node`,
      `acknowledged it (applied in memory on the owner; with no backups there is nothing to wait`,
      `for). After each set case a fresh client reads every written key back: "acked writes lost"`,
      `counts keys whose value is not the last acknowledged one. "node CPU %" is the node's CPU`,
      `time over the case in % of one core; "µs/op" is CPU time per acknowledged operation, of`,
      `the node and of the bench process (the clients' threads); it moves less with the`,
      `machine's load than the rates do, though it too rises when a starved process gets fewer`,
      `operations per frame and per turn. Targets: ${TARGET_WRITES_10.toLocaleString('en-US')} acknowledged writes/s with ${CLIENTS} clients one`,
      `at a time, ${TARGET_WRITES_PIPELINED.toLocaleString('en-US')}/s pipelined. The rates swing with the other jobs: an earlier build`,
      `on an idle machine acknowledged 35,517 writes/s pipelined and 14,262 one at a time with`,
      `10 clients (node 11.0 and 32.0 µs per write, clients 17.0 and 42.3 µs).`,
      ``,
      `The last row is the floor under the one-at-a-time target, measured in the same run:`,
      `${CLIENTS} bare \`ws\` sockets, in the clients' worker threads, send a set's OP frame one at`,
      `a time each to a \`ws\` server process that answers each with a set's RESULT frame at the`,
      `end of its turn, as the gateway does (bench/fixtures/ws-echo-server.ts): a WebSocket round`,
      `trip per operation with no Flotilla on either side. Its "node" columns are the server's.`,
      `"run" numbers the passes over every case (${RUNS} here, \`FLOTILLA_BENCH_CLIENT_RUNS\`), made one`,
      `after the other against the same node and clients.`,
      ``,
      `Where the time goes (CPU profiles of the node and of the client threads, 10 clients one`,
      `at a time, load average 5-13): in the node the socket write of each answer (\`writev\`,`,
      `which on loopback also runs the receiver's side of TCP and wakes it, so a loaded`,
      `machine's preemption shows there too) took the largest share, then frame decoding,`,
      `the op's encode and decode on the way through the partition route (about 4% of the`,
      `node's time, more than the store's apply), the store and the answer's encoding. In the`,
      `clients the socket write of each op, garbage collection and ws's framing lead; the`,
      `client's own code (routing, pending writes, promises) with a scripted gateway in the`,
      `same process costs 14-17 µs per set. Changes measured against the previous build,`,
      `alternating runs in one session (3 s cases, load average 8-19): the op of a partition`,
      `the node owns reaches the map store as an object (no encode, ServiceRequest, decode),`,
      `the gateway runs it without promises of its own, a write with no backups awaits only`,
      `the sealed-migration flush, and the client makes fewer promises per set and takes ws`,
      `messages as Buffers. Node CPU per pipelined write went from 16.3-17.5 µs to 9.5-13.2 µs;`,
      `one at a time it stayed within the noise (37.6-54.5 µs before, 30.2-53.5 after), as did`,
      `the clients' (24.7-32.3 and 21.4-27.9 µs pipelined, 50-72 and 37-84 one at a time).`,
      `Then, on an idle machine (load average 1.3-2.1, 2026-12-07): a write's attempt is answered`,
      `through a callback instead of three promises, the memory adapter keeps a write without a`,
      `promise, a write's acknowledgement is read straight from its bytes, pending writes and the`,
      `versions seen are kept per map and key instead of under joined names (and the versions`,
      `bounded in two generations instead of a re-insert per acknowledgement), and the clients`,
      `of this bench run the build's JavaScript rather than the sources through tsx, whose`,
      `transform wraps each closure made on the hot path in a naming call. The client's own code`,
      `with an in-process gateway (the client-core bench, three alternated runs of each build)`,
      `went from 15.9-26.5 µs to 12.9-14.5 µs per set, the gateway's own 1.3-2.0 µs included;`,
      `here the clients' CPU per pipelined write went from 17.5-19.6`,
      `to 13.0-16.3 µs and the rate from 60,000 to 63,000-79,000 writes/s; one at a time`,
      `it was 12,000-18,000 writes/s before and after, within this machine's noise.`,
      `What bounds the targets: one at a time, each write is a WebSocket round trip, and the`,
      `floor row shows what that alone costs here (on an idle machine 31,000-40,000 round trips/s,`,
      `19-25 µs in the server and 24-30 µs in the clients per round trip); Flotilla adds about`,
      `20-30 µs in the node and 25-35 µs in the clients to it, so on these 2 cores the sum,`,
      `95-115 µs per write, allows 17,000-21,000 writes/s with both cores busy and nothing else`,
      `running. Pipelined, 100,000/s needs node and clients together under 20 µs per write; they`,
      `take 21.5-26 µs (node 8.5-10.3, clients 13.0-16.3), the clients' share mostly garbage`,
      `collection, msgpack and the socket writes.`,
    ].join('\n'),
    run,
  },
];
