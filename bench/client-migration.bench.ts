/**
 * A partition of 100,000 map entries moving while smart clients write: three `flotilla
 * start --client` nodes (one synchronous backup per partition), a partition P owned by
 * the first node loaded with 100,000 entries, then the owner leaves gracefully while
 * clients keep writing (to P and across every partition). The node that held no replica
 * of P must receive all of it. Reported: write latency and rate before, during and after
 * the move, P's copy as the master recorded it, and a read-back of every acknowledged
 * write to P plus a sample of the others.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { FlotillaClient, type SocketConstructor } from '../src/client-platform/index.js';
import { partitionOf } from '../src/core/partition.js';
import type { MigrationsReport, PartitionsReport } from '../src/gateway/admin-source.js';
import { jsonLines } from '../test/cli/cli-process.js';
import { fmt, summarize, type Row, type Suite } from './harness.js';
import { assertRunnable, freeAddress, getJson, killAll, nodeRunner, spawnNode, waitForAdmin, waitSettled, waitUntil, type BenchNode } from './node-processes.js';

/** Entries loaded into the moving partition (`FLOTILLA_BENCH_MIGRATION_ENTRIES` for smoke runs). */
const ENTRIES = Math.max(1_000, Number(process.env.FLOTILLA_BENCH_MIGRATION_ENTRIES ?? 100_000) || 100_000);
const PARTITIONS = 271;
/** Writers during the move: lanes of one write at a time, each acknowledged before the next. */
const LANES_ALL = 8;
const LANES_P = 4;
/** Steady load measured before the leave and after the cluster settled again, ms. */
const STEADY_MS = 4_000;
const SETTLE_TIMEOUT_MS = 180_000;
/** Writes still acknowledged for the preload in flight at once. */
const PRELOAD_WINDOW = 256;
/** Acknowledged writes outside P read back at the end (every one to P is read back). */
const SAMPLE_OTHERS = 2_000;

type Phase = 'before' | 'during' | 'after';

interface Sample {
  readonly phase: Phase;
  readonly ms: number;
}

function keysOf(partition: number, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = `${prefix}-${i}`;
    if (partitionOf(key, PARTITIONS) === partition) keys.push(key);
  }
  return keys;
}

async function run(): Promise<Row[]> {
  const runner = nodeRunner();
  assertRunnable(runner);
  const jwtSecret = randomBytes(32).toString('base64');
  const nodes: BenchNode[] = [];
  const clients: FlotillaClient[] = [];
  try {
    const addresses = [await freeAddress(), await freeAddress(), await freeAddress()];
    for (let i = 0; i < 3; i++) {
      const node = spawnNode(runner, `m${i + 1}`, addresses[i]!, [addresses[0]!], undefined, { args: ['--client', '127.0.0.1:0'], env: { FLOTILLA_JWT_SECRET: jwtSecret } });
      nodes.push(node);
      await waitForAdmin(node);
    }
    await waitSettled(nodes, SETTLE_TIMEOUT_MS);
    const urls: string[] = [];
    for (const node of nodes) {
      let url: string | undefined;
      await waitUntil(() => (url = jsonLines(node.lines).find((l) => l.msg === 'client gateway listening')?.url as string | undefined) !== undefined, `${node.name}'s client gateway`, 30_000);
      urls.push(url!);
    }
    const table = await getJson<PartitionsReport>(nodes[0]!, '/cluster/partitions');
    const moving = table?.partitions.find((p) => p.owner === 'm1' && p.backups.length === 1);
    if (moving === undefined) throw new Error('client-migration bench: m1 owns no partition with one backup');
    const P = moving.partition;
    const receiver = ['m2', 'm3'].find((n) => !moving.backups.includes(n))!;

    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('1h').sign(new TextEncoder().encode(jwtSecret));
    // Cluster mode with every node as a seed, as an application would run it.
    for (let i = 0; i < 4; i++) clients.push(new FlotillaClient({ cluster: { seeds: urls }, authToken: token, WebSocket: WebSocket as unknown as SocketConstructor }));
    await waitUntil(() => clients.every((c) => c.isRoutingActive()), 'every client routing', 30_000);
    const map = (i: number) => clients[i % clients.length]!.getMap('moving');

    // Preload P.
    const preloadKeys = keysOf(P, ENTRIES, 'pre');
    const preloadStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PRELOAD_WINDOW }, async (_, lane) => {
        while (next < preloadKeys.length) {
          const key = preloadKeys[next++]!;
          await map(lane).set(key, { k: key, pad: 'x'.repeat(64) });
        }
      }),
    );
    const preloadMs = performance.now() - preloadStarted;

    // Load, then the leave in the middle of it.
    let phase: Phase = 'before';
    const samples: Sample[] = [];
    const failures: string[] = [];
    const acked = new Map<string, number>();
    let stop = false;
    const pKeys = keysOf(P, 5_000, 'live');
    let seq = 0;
    const lane = async (id: number, onlyP: boolean): Promise<void> => {
      let n = 0;
      while (!stop) {
        // Each lane has keys of its own, so a later acknowledged value of a key is always the larger one.
        const key = onlyP ? pKeys[((n++ * LANES_P) + (id - LANES_ALL)) % pKeys.length]! : `all-${id}-${n++ % 5_000}`;
        const value = ++seq;
        const at = phase;
        const t0 = performance.now();
        try {
          await map(id).set(key, { v: value });
          samples.push({ phase: at, ms: performance.now() - t0 });
          acked.set(key, value);
        } catch (err) {
          failures.push(`${key}: ${(err as Error).message}`);
        }
      }
    };
    const lanes = [...Array.from({ length: LANES_ALL }, (_, i) => lane(i, false)), ...Array.from({ length: LANES_P }, (_, i) => lane(LANES_ALL + i, true))];
    const phaseMs: Record<Phase, number> = { before: 0, during: 0, after: 0 };
    let t = performance.now();
    await new Promise((r) => setTimeout(r, STEADY_MS));
    phaseMs.before = performance.now() - t;
    phase = 'during';
    t = performance.now();
    const leftAt = Date.now();
    const loadAtMove = loadavg()[0]!;
    nodes[0]!.child.kill('SIGTERM');
    await nodes[0]!.exited;
    const survivors = nodes.slice(1);
    await waitSettled(survivors, SETTLE_TIMEOUT_MS);
    phaseMs.during = performance.now() - t;
    phase = 'after';
    t = performance.now();
    await new Promise((r) => setTimeout(r, STEADY_MS));
    phaseMs.after = performance.now() - t;
    stop = true;
    await Promise.all(lanes);

    // P's copy to the node that held no replica of it, as the new master recorded it.
    let copy: { ms: number; source: string } | undefined;
    for (const node of survivors) {
      const report = await getJson<MigrationsReport>(node, '/cluster/migrations');
      const move = [...(report?.recent ?? [])].find((m) => m.partition === P && m.destination === receiver && m.outcome === 'completed' && m.startedAt >= leftAt);
      if (move?.finishedAt !== undefined) copy = { ms: move.finishedAt - move.startedAt, source: move.source };
    }

    // Every acknowledged write to P, and a sample of the rest, read back through a fresh client.
    const reader = new FlotillaClient({ cluster: { seeds: urls.slice(1) }, authToken: token, WebSocket: WebSocket as unknown as SocketConstructor });
    clients.push(reader);
    await waitUntil(() => reader.isRoutingActive(), 'the reader routing', 30_000);
    const readMap = reader.getMap('moving');
    let lost = 0;
    let checked = 0;
    const toCheck: [string, number | undefined][] = [
      ...preloadKeys.filter((k) => !acked.has(k)).map((k): [string, undefined] => [k, undefined]),
      ...[...acked].filter(([k]) => partitionOf(k, PARTITIONS) === P),
      ...[...acked].filter(([k]) => partitionOf(k, PARTITIONS) !== P).slice(0, SAMPLE_OTHERS),
    ];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (cursor < toCheck.length) {
          const [key, value] = toCheck[cursor++]!;
          const got = (await readMap.get(key)) as { v?: number; k?: string } | undefined;
          checked++;
          if (value === undefined ? got?.k !== key : (got?.v ?? -1) < value) lost++;
        }
      }),
    );

    const rows: Row[] = [];
    for (const p of ['before', 'during', 'after'] as const) {
      const ms = samples.filter((s) => s.phase === p).map((s) => s.ms);
      const { p50, p99, max } = summarize(ms);
      rows.push({
        phase: p === 'during' ? `during: m1 leaves, P (${ENTRIES.toLocaleString('en-US')} entries) copied to ${receiver}, until settled` : `${p} (steady)`,
        'window s': phaseMs[p] / 1000,
        'acked writes/s': ms.length / (phaseMs[p] / 1000),
        'p50 ms': p50,
        'p99 ms': p99,
        'max ms': max,
        'writes failed': p === 'after' ? String(failures.length) : '',
      });
    }
    rows.push({
      phase: `preload of P: ${ENTRIES.toLocaleString('en-US')} acknowledged writes, ${PRELOAD_WINDOW} in flight`,
      'window s': preloadMs / 1000,
      'acked writes/s': ENTRIES / (preloadMs / 1000),
      'p50 ms': '',
      'p99 ms': '',
      'max ms': '',
      'writes failed': '',
    });
    rows.push({
      phase: `copy of P to ${receiver} (master's record, MigrateStart to commit)${copy === undefined ? ': not found' : `, from ${copy.source}`}`,
      'window s': copy === undefined ? '' : copy.ms / 1000,
      'acked writes/s': '',
      'p50 ms': '',
      'p99 ms': '',
      'max ms': '',
      'writes failed': '',
    });
    rows.push({
      phase: `read back: ${fmt(checked)} acknowledged values (all of P's, ${SAMPLE_OTHERS.toLocaleString('en-US')} others), lost`,
      'window s': '',
      'acked writes/s': '',
      'p50 ms': '',
      'p99 ms': '',
      'max ms': '',
      'writes failed': String(lost),
    });
    rows.push({ phase: `the machine's 1-minute load average when m1 left: ${loadAtMove.toFixed(1)} (other jobs share the 2 cores)`, 'window s': '', 'acked writes/s': '', 'p50 ms': '', 'p99 ms': '', 'max ms': '', 'writes failed': '' });
    if (failures.length > 0) process.stderr.write(`client-migration: ${failures.length} writes failed, first: ${failures.slice(0, 3).join('; ')}\n`);
    return rows;
  } finally {
    for (const c of clients) c.close();
    await killAll(nodes);
  }
}

export const suites: Suite[] = [
  {
    id: 'client-migration',
    title: 'Smart client: a partition of 100,000 entries moves under write load',
    notes: [
      'Three `flotilla start --client` nodes on 127.0.0.1 (271 partitions, one synchronous backup: a',
      'write is acknowledged once owner and backup hold it). Partition P, owned by m1, is loaded with',
      `${ENTRIES.toLocaleString('en-US')} entries (~90 bytes each) through the smart client. Then ${LANES_ALL + LANES_P} writers (one write at a`,
      `time each, ${LANES_P} of them on keys of P) run ${STEADY_MS / 1000} s; m1 leaves gracefully (SIGTERM): its partitions`,
      'move to the two others, and the one that held no replica of P receives all of it; the writers',
      `go on until both survivors report one settled table, then ${STEADY_MS / 1000} s more. Latency is per write, from`,
      'the call to its acknowledgement (the client retries through NOT_OWNER and failover within',
      'its deadline; "writes failed" counts those that still failed). Clients and nodes share the',
      "machine's two cores.",
    ].join('\n'),
    run,
  },
];
