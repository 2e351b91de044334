/**
 * Failover and steady store load across hosts: 3 and 5 cluster-tests runners, each in its
 * own network namespace on a bridge (real IP routing), gossip only (one shared SQLite
 * file), on PostgreSQL, and in etcd mode on PostgreSQL. Measures the time from a runner's
 * kill -9 until a durable KV write to every partition lands again, and the requests per
 * second a settled, idle runner sends each store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { partitionOf } from '../src/core/partition.js';
import { EtcdServer, etcdBinary } from '../test/helpers/etcd-server.js';
import { netnsUnavailable } from '../test/helpers/netns.js';
import { HostLab, type HostProcess } from '../test/helpers/netns-hosts.js';
import { labPostgresUnavailable, startLabPostgres, type LabPostgres } from '../test/helpers/netns-postgres.js';
import { type Row, type Suite } from './harness.js';
import { sleep } from './node-processes.js';

const repo = resolve(import.meta.dirname, '..');
/** Kills per case (the killed runner restarts and the cluster settles between kills); `FLOTILLA_BENCH_MH_KILLS`. */
const KILLS = Math.max(1, Number(process.env.FLOTILLA_BENCH_MH_KILLS ?? 1) || 1);
/** Window over which the steady store load is counted, ms. */
const LOAD_WINDOW_MS = 30_000;
/** Longest wait for runners to settle (a loaded 2-core host), ms. */
const SETTLE_TIMEOUT_MS = 240_000;
/** One write's HTTP deadline; a write not answered is sent again. */
const WRITE_TIMEOUT_MS = 20_000;
/** Longest failover accepted before the sample counts as a timeout, ms. */
const FAILOVER_TIMEOUT_MS = 120_000;
const PARTITIONS = 271;
const HTTP_PORT = 8080;
const CLUSTER_PORT = 7946;
const SECRET = 'multi-host-bench-secret-0123456789abcdef';

type Store = 'gossip' | 'postgres' | 'etcd';
interface Case {
  readonly runners: number;
  readonly store: Store;
}
const CASES: readonly Case[] = [3, 5].flatMap((runners) => (['gossip', 'postgres', 'etcd'] as const).map((store) => ({ runners, store })));
const STORE_NAMES: Record<Store, string> = { gossip: 'gossip only (shared SQLite)', postgres: 'PostgreSQL', etcd: 'etcd (lease TTL 10 s) + PostgreSQL' };

/** One KVStore entity id per partition (the entity's partition is that of `KVStore/<id>`). */
function idPerPartition(): string[] {
  const ids = new Array<string>(PARTITIONS);
  for (let i = 0, found = 0; found < PARTITIONS; i++) {
    const p = partitionOf(`KVStore/fo-${i}`, PARTITIONS);
    if (ids[p] === undefined) {
      ids[p] = `fo-${i}`;
      found++;
    }
  }
  return ids;
}

/** The stores of one case and how to count the requests each one answered. */
interface Stores {
  readonly env: Record<string, string>;
  /** Requests answered so far: PostgreSQL transactions, etcd gRPC calls (undefined: no such store). */
  count(): Promise<{ postgres?: number; etcd?: Map<string, number> }>;
  stop(): Promise<void>;
}

async function openStores(lab: HostLab, store: Store): Promise<Stores> {
  if (store === 'gossip') return { env: {}, count: () => Promise.resolve({}), stop: () => Promise.resolve() };
  const db: LabPostgres = startLabPostgres(lab.gateway, lab.subnet);
  const etcd = store === 'etcd' ? await EtcdServer.start(undefined, lab.gateway) : undefined;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  return {
    env: { POSTGRES_URL: db.url, ...(etcd === undefined ? {} : { ETCD_ENDPOINTS: etcd.endpoint }) },
    count: async () => {
      // Statistics reach pg_stat_database when a backend reports them (at most once a second).
      const row = (await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0];
      return { postgres: Number(row?.n), ...(etcd === undefined ? {} : { etcd: await etcdRequests(etcd) }) };
    },
    stop: async () => {
      await client.end();
      await etcd?.stop();
      db.stop();
    },
  };
}

/** etcd's `grpc_server_handled_total` (every gRPC call it answered), by `service/method code`. */
async function etcdRequests(etcd: EtcdServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('grpc_server_handled_total')) continue;
    const label = (name: string): string => /"([^"]*)"/.exec(line.slice(line.indexOf(`${name}=`)))?.[1] ?? '?';
    const key = `${label('grpc_service').replace(/^etcdserverpb\./, '')}/${label('grpc_method')} ${label('grpc_code')}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** The calls of `after` not yet in `before`, per second per runner, largest first, e.g. `KV/Range OK 2.10`. */
export function callsPerSecond(before: Map<string, number>, after: Map<string, number>, seconds: number, runners: number): string {
  const rates: [string, number][] = [];
  for (const [key, n] of after) {
    const rate = (n - (before.get(key) ?? 0)) / seconds / runners;
    if (rate > 0) rates.push([key, rate]);
  }
  return rates.sort((a, b) => b[1] - a[1]).map(([key, rate]) => `${key} ${rate.toFixed(2)}`).join('; ') || 'none';
}

function total(counts: Map<string, number> | undefined): number | undefined {
  return counts === undefined ? undefined : [...counts.values()].reduce((a, b) => a + b, 0);
}

/** A lab of `runners` hosts with its runners, started and stopped together. */
class Cluster {
  readonly procs = new Map<number, HostProcess>();
  constructor(
    readonly lab: HostLab,
    private readonly env: Record<string, string>,
    private readonly dataDir: string,
  ) {}

  api(i: number): string {
    return `http://${this.lab.hosts[i]!.ip}:${HTTP_PORT}`;
  }

  start(i: number): void {
    this.procs.set(
      i,
      this.lab.spawnNode(i, ['--import', 'tsx', 'examples/cluster-tests/src/main.ts'], {
        NODE_ID: `r${i + 1}`,
        LISTEN_ADDR: `${this.lab.hosts[i]!.ip}:${HTTP_PORT}`,
        RUNNER_ADDRESS: `${this.lab.hosts[i]!.ip}:${CLUSTER_PORT}`,
        SEEDS: `${this.lab.hosts[0]!.ip}:${CLUSTER_PORT}`,
        FLOTILLA_SECRET: SECRET,
        // Each runner keeps its own files under DATA_DIR/<NODE_ID>; the SQLite file directly under it is shared.
        DATA_DIR: this.dataDir,
        LOG_LEVEL: 'warn',
        ...this.env,
      }, repo),
    );
  }

  /** Partition -> owner in runner `i`'s table. */
  async owners(i: number): Promise<string[]> {
    const shards = (await (await fetch(`${this.api(i)}/debug/shards`, { signal: AbortSignal.timeout(5_000) })).json()) as { owner: string }[];
    return shards.map((s) => s.owner);
  }

  /**
   * Waits until every runner of `live` is healthy and its table's owners are exactly
   * `live`; with `balanced`, also until the owners' partition counts differ by at most one
   * (the rebalancing after a join has finished, so no partition is still moving).
   */
  async settled(live: readonly number[], balanced = false): Promise<void> {
    const want = live.map((i) => `r${i + 1}`).sort().join();
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let last = '';
    for (;;) {
      let ok = true;
      for (const i of live) {
        try {
          const health = await fetch(`${this.api(i)}/health`, { signal: AbortSignal.timeout(5_000) });
          const shards = (await (await fetch(`${this.api(i)}/debug/shards`, { signal: AbortSignal.timeout(5_000) })).json()) as { owner: string }[];
          const counts = new Map<string, number>();
          for (const s of shards) counts.set(s.owner, (counts.get(s.owner) ?? 0) + 1);
          const owners = [...counts.keys()].sort().join();
          const spread = Math.max(...counts.values()) - Math.min(...counts.values());
          last = `r${i + 1}: health ${health.status}, owners ${owners}, spread ${spread}`;
          ok = health.status === 200 && owners === want && (!balanced || spread <= 1);
        } catch (err) {
          last = `r${i + 1}: ${String(err)}`;
          ok = false;
        }
        if (!ok) break;
      }
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`multi-host bench: runners ${want} did not settle in ${SETTLE_TIMEOUT_MS} ms: ${last}\n${this.logs()}`);
      await sleep(250);
    }
  }

  logs(): string {
    return [...this.procs.entries()].map(([i, p]) => `--- r${i + 1}\n${p.lines.slice(-10).join('\n')}`).join('\n');
  }
}

/** Status of one durable KV write through `api` (0: no answer in time). */
async function put(api: string, id: string): Promise<number> {
  try {
    const res = await fetch(`${api}/kv/${id}/set`, { method: 'POST', body: JSON.stringify({ key: 'v', value: 1 }), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Ms from `started` until every id was written once through `api` (each retried until it lands); NaN on timeout. */
async function timeToServeAll(api: string, ids: readonly string[], started: number): Promise<number> {
  const done = await Promise.all(
    ids.map(async (id) => {
      while (performance.now() - started < FAILOVER_TIMEOUT_MS) {
        if ((await put(api, id)) === 200) return performance.now() - started;
        await sleep(20);
      }
      return Number.NaN;
    }),
  );
  return done.some(Number.isNaN) ? Number.NaN : Math.max(...done);
}

async function runCase(c: Case, ids: readonly string[]): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-mh-bench-'));
  const lab = HostLab.create(c.runners);
  let stores: Stores | undefined;
  try {
    stores = await openStores(lab, c.store);
    const cluster = new Cluster(lab, stores.env, dataDir);
    const all = Array.from({ length: c.runners }, (_, i) => i);
    // r1 forms the cluster; the others join through it.
    cluster.start(0);
    await cluster.settled([0]);
    for (const i of all.slice(1)) cluster.start(i);
    await cluster.settled(all);
    // Every partition written once, so the load window sees a cluster with its entities active.
    await timeToServeAll(cluster.api(0), ids, performance.now());
    // The load window is of a settled cluster: the rebalancing after the joins has finished.
    await cluster.settled(all, true);
    const ownersBefore = await cluster.owners(0);
    const before = await stores.count();
    await sleep(LOAD_WINDOW_MS);
    const after = await stores.count();
    const ownersAfter = await cluster.owners(0);
    const moved = ownersAfter.filter((o, p) => o !== ownersBefore[p]).length;
    const loadAverage = loadavg()[0]!;
    const perRunner = (a?: number, b?: number): string => (a === undefined || b === undefined ? '-' : ((b - a) / (LOAD_WINDOW_MS / 1_000) / c.runners).toFixed(2));
    const samples: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Never r1, the oldest member and master: the failover of a non-master runner.
      const victim = c.runners - 1 - (k % (c.runners - 1));
      const proc = cluster.procs.get(victim)!;
      const started = performance.now();
      proc.child.kill('SIGKILL');
      samples.push(await timeToServeAll(cluster.api(0), ids, started));
      process.stdout.write(`  kill ${k + 1}: r${victim + 1}, every partition served again after ${(samples[k]! / 1_000).toFixed(2)} s\n`);
      await proc.exited;
      cluster.start(victim);
      await cluster.settled(all);
    }
    const finite = samples.filter(Number.isFinite).sort((a, b) => a - b);
    const s = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1_000).toFixed(2));
    return {
      runners: c.runners,
      store: STORE_NAMES[c.store],
      kills: KILLS,
      timeouts: KILLS - finite.length,
      'served again p50 (s)': s(finite[Math.floor((finite.length - 1) / 2)]),
      'served again max (s)': s(finite[finite.length - 1]),
      'samples (s)': samples.map((x) => (Number.isFinite(x) ? (x / 1_000).toFixed(2) : 'timeout')).join(', '),
      'PostgreSQL transactions/s per runner': perRunner(before.postgres, after.postgres),
      'etcd requests/s per runner': perRunner(total(before.etcd), total(after.etcd)),
      'etcd calls/s per runner by method': before.etcd === undefined || after.etcd === undefined ? '-' : callsPerSecond(before.etcd, after.etcd, LOAD_WINDOW_MS / 1_000, c.runners),
      'partitions moved in the load window': moved,
      'load average (1 min, end of the load window)': loadAverage.toFixed(2),
    };
  } finally {
    // Stores first: the bridge address they listen on goes with the lab.
    await stores?.stop().catch(() => undefined);
    lab.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function unavailable(): string | undefined {
  const missing = ['ip', 'curl'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) return `${missing.join(', ')} not installed`;
  return netnsUnavailable() ?? labPostgresUnavailable() ?? (etcdBinary() === undefined ? 'no etcd binary (apt-get install etcd-server)' : undefined);
}

export const suites: Suite[] = [
  {
    id: 'multi-host',
    title: 'Multi-host: failover after kill -9 and steady store load (3 and 5 runners in network namespaces)',
    notes: [
      'The cluster-tests runner (`examples/cluster-tests`, run with tsx), one per network namespace, the namespaces joined by veth pairs to one bridge (real IP routing), default SWIM settings. Stores: *gossip only* keeps entity state in one SQLite file every runner opens (the namespaces share the file system, as processes of one host do); *PostgreSQL* is a server on the bridge address; *etcd* adds a one-member etcd on the bridge address (runners register and lock partitions there, default 10 s lease TTL) to PostgreSQL.',
      `A non-master runner is killed with SIGKILL ${KILLS} times per case (it restarts with its data directory and the cluster settles between kills). *Served again* is the time from the kill until one durable KV write (\`POST /kv/<id>/set\`, a KVStore entity) to every one of the 271 partitions, sent at once through the master's runner and retried until it lands, has landed: failure detection, the new table, the new owners fencing the partitions in storage, and in etcd mode the dead runner's lease running out before its locks can be taken.`,
      `*Steady load* is counted over ${LOAD_WINDOW_MS / 1_000} s of a settled cluster (every runner's table balanced: owners' partition counts within one of each other, so the rebalancing after the joins has finished; *partitions moved* counts owner changes in the window) with one active entity per partition and no client traffic, divided by the runners: PostgreSQL transactions committed or rolled back in the cluster's database (\`pg_stat_database\`, which backends report at most once a second, so read it to about ±0.1/s), etcd gRPC calls answered (\`grpc_server_handled_total\`, also by method). The load average is the machine's (shared with other jobs) at the end of the window.`,
    ].join('\n'),
    run: async () => {
      const why = unavailable();
      if (why !== undefined) throw new Error(`multi-host bench: ${why} (needs root and iproute2)`);
      const wanted = process.env.FLOTILLA_BENCH_MH_CASES;
      const ids = idPerPartition();
      const rows: Row[] = [];
      for (const c of CASES) {
        if (wanted !== undefined && !wanted.split(',').includes(`${c.runners}-${c.store}`)) continue;
        process.stdout.write(`multi-host: ${c.runners} runners, ${c.store}\n`);
        const row = await runCase(c, ids);
        process.stdout.write(`  ${JSON.stringify(row)}\n`);
        rows.push(row);
      }
      return rows;
    },
  },
];
