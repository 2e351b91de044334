/**
 * etcd mode against gossip only, on real processes: three `flotilla start` nodes on
 * 127.0.0.1 (default SWIM), with and without `--etcd` (a throwaway etcd on loopback).
 * Measures the steady load a runner puts on etcd (gRPC requests etcd handled per second,
 * from etcd's own metrics, divided by the runners) and the failover time: kill -9 of a
 * non-master node to every partition accepting a KV write again through a survivor.
 */
import { performance } from 'node:perf_hooks';
import { partitionOf } from '../src/core/partition.js';
import { EtcdServer, etcdBinary } from '../test/helpers/etcd-server.js';
import { type Row, type Suite } from './harness.js';
import { assertRunnable, freeAddress, killAll, nodeRunner, putKv, readView, sleep, spawnNode, waitForAdmin, waitSettled, type BenchNode } from './node-processes.js';

/** Kills per case; override with `FLOTILLA_BENCH_ETCD_KILLS`. */
const KILLS = Math.max(1, Number(process.env.FLOTILLA_BENCH_ETCD_KILLS ?? 3) || 3);
/** Window over which the steady etcd load is counted, ms. */
const LOAD_WINDOW_MS = 20_000;
const SETTLE_TIMEOUT_MS = 120_000;
/** One write's HTTP deadline; a write not answered is sent again. */
const WRITE_TIMEOUT_MS = 20_000;
/** Longest failover accepted before the sample counts as a timeout, ms. */
const FAILOVER_TIMEOUT_MS = 90_000;
const PARTITIONS = 271;

interface Case {
  readonly name: string;
  /** TTL for etcd mode; undefined: gossip only. */
  readonly leaseTtlSec?: number;
}

const CASES: readonly Case[] = [{ name: 'gossip only' }, { name: 'etcd, lease TTL 10 s (default)', leaseTtlSec: 10 }, { name: 'etcd, lease TTL 4 s', leaseTtlSec: 4 }];

/** One key per partition. */
function keyPerPartition(): string[] {
  const keys = new Array<string>(PARTITIONS);
  let found = 0;
  for (let i = 0; found < PARTITIONS; i++) {
    const key = `fo-${i}`;
    const p = partitionOf(key, PARTITIONS);
    if (keys[p] === undefined) {
      keys[p] = key;
      found++;
    }
  }
  return keys;
}

/** Sum of etcd's `grpc_server_handled_total` (every gRPC call it answered). */
async function etcdRequests(etcd: EtcdServer): Promise<number> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('grpc_server_handled_total')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Ms from now until every key was written once through `via` (each retried until it lands). */
async function timeToServeAll(via: BenchNode, keys: readonly string[], started: number): Promise<number> {
  const done = await Promise.all(
    keys.map(async (key) => {
      while (performance.now() - started < FAILOVER_TIMEOUT_MS) {
        if ((await putKv(via, key, 'x', WRITE_TIMEOUT_MS)) === 200) return performance.now() - started;
        await sleep(20);
      }
      return Number.NaN;
    }),
  );
  return done.some(Number.isNaN) ? Number.NaN : Math.max(...done);
}

async function startNode(runner: ReturnType<typeof nodeRunner>, name: string, seeds: readonly string[], extra: readonly string[], into: BenchNode[]): Promise<BenchNode> {
  const node = spawnNode(runner, name, await freeAddress(), seeds, undefined, { args: extra });
  into.push(node);
  await waitForAdmin(node);
  return node;
}

async function runCase(c: Case, keys: readonly string[]): Promise<Row> {
  const runner = nodeRunner();
  const etcd = c.leaseTtlSec === undefined ? undefined : await EtcdServer.start();
  const extra = etcd === undefined ? [] : ['--etcd', etcd.endpoint, '--etcd-lease-ttl', String(c.leaseTtlSec)];
  const all: BenchNode[] = [];
  try {
    let live: BenchNode[] = [await startNode(runner, 'n1', [], extra, all)];
    // In etcd mode the seeds come from etcd; gossip-only nodes join through n1.
    for (const name of ['n2', 'n3']) live.push(await startNode(runner, name, etcd === undefined ? [live[0]!.address] : [], extra, all));
    await waitSettled(live, SETTLE_TIMEOUT_MS);
    let load = Number.NaN;
    if (etcd !== undefined) {
      const before = await etcdRequests(etcd);
      await sleep(LOAD_WINDOW_MS);
      load = (await etcdRequests(etcd)) - before;
      load = load / (LOAD_WINDOW_MS / 1_000) / live.length;
    }
    const samples: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const master = (await readView(live[0]!))?.members.master;
      const victim = live.find((n) => n.name !== master && n !== live[0]) ?? live[1]!;
      const via = live.find((n) => n !== victim && n.name === master) ?? live.find((n) => n !== victim)!;
      const started = performance.now();
      victim.child.kill('SIGKILL');
      samples.push(await timeToServeAll(via, keys, started));
      await victim.exited;
      live = live.filter((n) => n !== victim);
      live.push(await startNode(runner, `r${k + 1}`, etcd === undefined ? [via.address] : [], extra, all));
      await waitSettled(live, SETTLE_TIMEOUT_MS);
    }
    const finite = samples.filter(Number.isFinite).sort((a, b) => a - b);
    const s = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1_000).toFixed(2));
    return {
      mode: c.name,
      kills: KILLS,
      timeouts: KILLS - finite.length,
      'served again p50 (s)': s(finite[Math.floor((finite.length - 1) / 2)]),
      'served again max (s)': s(finite[finite.length - 1]),
      'samples (s)': samples.map((x) => (Number.isFinite(x) ? (x / 1_000).toFixed(2) : 'timeout')).join(', '),
      'etcd requests/s per runner': Number.isFinite(load) ? load.toFixed(2) : '-',
    };
  } finally {
    await killAll(all);
    await etcd?.stop();
  }
}

export const suites: Suite[] = [
  {
    id: 'etcd-mode',
    title: 'etcd mode: failover after kill -9 and steady etcd load (3 processes)',
    notes: [
      'Three `flotilla start` processes on 127.0.0.1, default SWIM settings, gossip only or with `--etcd` against a throwaway etcd on loopback (one member).',
      `A non-master node is killed with SIGKILL ${KILLS} times per mode (a new node joins and the cluster settles between kills). *Served again* is the time from the kill until one KV write to every one of the 271 partitions, sent at once through a survivor and retried until it lands, has landed: detection, failover, and in etcd mode the dead runner's lease running out before its locks can be taken.`,
      `*etcd requests/s per runner* counts every gRPC call etcd answered (its \`grpc_server_handled_total\`) over ${LOAD_WINDOW_MS / 1_000} s of an idle, settled cluster, divided by the runners: keep-alives (one per third of the TTL) and nothing else while the table is stable.`,
    ].join('\n'),
    run: async () => {
      assertRunnable(nodeRunner());
      if (etcdBinary() === undefined) throw new Error('etcd benchmarks: no etcd binary (apt-get install etcd-server)');
      const keys = keyPerPartition();
      const rows: Row[] = [];
      for (const c of CASES) rows.push(await runCase(c, keys));
      return rows;
    },
  },
];
