/**
 * A local cluster of runner processes on the loopback interface: what `npm start` runs
 * so the bash suites have a cluster to talk to. Runner 1 seeds the others; all share one
 * data directory (and so one SQLite file); their logs come out prefixed with their names.
 * Ctrl-C or SIGTERM stops every runner gracefully (bounded, then killed); a second one
 * kills them at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHostPort } from './config.js';

/** Runners started when `--nodes` is not given. */
export const LOCAL_NODES_DEFAULT = 3;
/** Most runners the launcher starts. */
export const LOCAL_NODES_MAX = 16;
/** Cluster port of runner 1 by default; runner i gets this + i - 1. */
export const CLUSTER_PORT_DEFAULT = 7946;
/** HTTP API of runner 1 by default; runner i gets port + i - 1. */
export const HTTP_ADDR_DEFAULT = '127.0.0.1:8080';
/** Admin API of runner 1 by default; runner i gets port + i - 1. */
export const ADMIN_ADDR_DEFAULT = '127.0.0.1:9080';
/** Shared data directory by default, relative to the working directory. */
export const DATA_DIR_DEFAULT = '.flotilla-dev';
/** How long a runner gets to answer `/health` with 200 after it is spawned, ms. */
export const HEALTH_TIMEOUT_MS = 120_000;
/** Pause between two `/health` polls, ms. */
export const HEALTH_POLL_INTERVAL_MS = 200;
/** How long one runner gets to leave after SIGTERM before it is killed, ms. */
export const STOP_TIMEOUT_MS = 30_000;
/** Attempts to find a port free for both TCP and UDP, per runner. */
export const PORT_ATTEMPTS_MAX = 32;

const LOOPBACK = '127.0.0.1';

/** One runner of the plan. */
export interface LocalRunner {
  readonly name: string;
  readonly clusterAddress: string;
  readonly httpAddress: string;
  /** Flotilla's admin API (health, members, partitions, entities, metrics). */
  readonly adminAddress: string;
}

/** Options of the launcher (from its flags). */
export interface LocalClusterOptions {
  readonly nodes: number;
  /** `host:port` of runner 1's API; port 0 picks free ports. */
  readonly http: string;
  /** Cluster port of runner 1; 0 picks free ports. */
  readonly clusterPort: number;
  /** `host:port` of runner 1's admin API; port 0 picks free ports. */
  readonly admin: string;
  readonly dataDir: string;
}

function usage(message: string): Error {
  return new Error(`local-cluster: ${message}`);
}

/** Parses the launcher's flags (`--nodes`, `--http`, `--cluster-port`, `--data`), falling back to the environment. */
export function parseLocalClusterArgs(argv: readonly string[], env: NodeJS.ProcessEnv): LocalClusterOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: { nodes: { type: 'string' }, http: { type: 'string' }, admin: { type: 'string' }, 'cluster-port': { type: 'string' }, data: { type: 'string' } },
    strict: true,
  });
  const nodes = Number(values.nodes ?? LOCAL_NODES_DEFAULT);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > LOCAL_NODES_MAX) throw usage(`--nodes must be an integer in 1..${LOCAL_NODES_MAX}`);
  const http = values.http ?? env.LISTEN_ADDR ?? HTTP_ADDR_DEFAULT;
  parseHostPort('--http', http);
  const clusterPort = Number(values['cluster-port'] ?? CLUSTER_PORT_DEFAULT);
  if (!Number.isInteger(clusterPort) || clusterPort < 0 || clusterPort + nodes - 1 > 65_535) throw usage('--cluster-port must be a port (0 picks free ones)');
  const admin = values.admin ?? env.ADMIN_ADDR ?? ADMIN_ADDR_DEFAULT;
  parseHostPort('--admin', admin);
  return { nodes, http, clusterPort, admin, dataDir: resolvePath(values.data ?? env.DATA_DIR ?? DATA_DIR_DEFAULT) };
}

function tcpFreePort(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const bound = server.address();
      server.close(() => resolve(typeof bound === 'object' && bound !== null ? bound.port : undefined));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** Lowest port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1_024 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A port free right now (for UDP too when `udp`), drawn below the ephemeral range. Runners
 * start one after another, seconds apart; a port the OS hands out for `port 0` lies in the
 * ephemeral range, where any outgoing connection (to PostgreSQL, etcd, the seed) may take it
 * as its local port before the runner binds it.
 */
async function freePort(host: string, udp: boolean): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1_025, high - 12_000);
  for (let attempt = 0; attempt < PORT_ATTEMPTS_MAX; attempt++) {
    const candidate = low + Math.floor(Math.random() * (high - low));
    const port = await tcpFreePort(host, candidate);
    if (port !== undefined && (!udp || (await udpFree(host, port)))) return port;
  }
  throw usage(`no free port on ${host} after ${PORT_ATTEMPTS_MAX} attempts`);
}

/** Picks every runner's addresses; fixed ports must be free now. */
export async function planLocalCluster(options: LocalClusterOptions): Promise<LocalRunner[]> {
  const http = parseHostPort('--http', options.http);
  const admin = parseHostPort('--admin', options.admin);
  const runners: LocalRunner[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const clusterPort = options.clusterPort === 0 ? await freePort(LOOPBACK, true) : options.clusterPort + i;
    const httpPort = http.port === 0 ? await freePort(http.host, false) : http.port + i;
    if (http.port !== 0 && (await tcpFreePort(http.host, httpPort)) === undefined) throw usage(`HTTP port ${httpPort} is in use (pick another base with --http)`);
    if (options.clusterPort !== 0 && ((await tcpFreePort(LOOPBACK, clusterPort)) === undefined || !(await udpFree(LOOPBACK, clusterPort)))) {
      throw usage(`cluster port ${clusterPort} is in use (pick another base with --cluster-port)`);
    }
    const adminPort = admin.port === 0 ? await freePort(admin.host, false) : admin.port + i;
    if (admin.port !== 0 && (await tcpFreePort(admin.host, adminPort)) === undefined) throw usage(`admin port ${adminPort} is in use (pick another base with --admin)`);
    runners.push({ name: `runner-${i + 1}`, clusterAddress: `${LOOPBACK}:${clusterPort}`, httpAddress: `${http.host}:${httpPort}`, adminAddress: `${admin.host}:${adminPort}` });
  }
  return runners;
}

/** The entry of a runner process, next to this file (`.ts` under tsx, `.js` once built). */
function runnerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return self.endsWith('.ts') ? self.replace(/local-cluster\.ts$/, 'main.ts') : self.replace(/local-cluster\.js$/, 'main.js');
}

/** One log line of a runner, prefixed with its name; pino's JSON made readable. */
export function renderLine(name: string, line: string): string {
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, pid: _pid, hostname: _host, ...rest } = record;
    const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
    const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const fields = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    return `[${name}] ${when} ${levels[Number(level)] ?? String(level)} ${String(msg ?? '')}${fields}`;
  } catch {
    return `[${name}] ${line}`;
  }
}

function spawnRunner(runner: LocalRunner, seed: string, dataDir: string, first = false): ChildProcess {
  // Detached (its own process group): a terminal's Ctrl-C reaches only the launcher, which
  // then sends each runner one SIGTERM; a second signal would make the runner stop at once.
  const child = spawn(process.execPath, [...process.execArgv, runnerEntry()], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      NODE_ID: runner.name,
      LISTEN_ADDR: runner.httpAddress,
      ADMIN_ADDR: runner.adminAddress,
      RUNNER_ADDRESS: runner.clusterAddress,
      SEEDS: seed,
      DATA_DIR: dataDir,
      RUNNER_STOP_ON_STDIN_END: '1',
      ...(first ? { FORCE_FORM: '1' } : {}),
    },
  });
  // The runner stops when its stdin ends, i.e. when the launcher dies without stopping it.
  child.stdin?.on('error', () => undefined);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${renderLine(runner.name, line)}\n`));
  }
  return child;
}

/** Polls `http://address/health` until it answers 200; rejects at the deadline or when the child exits. */
async function waitHealthy(runner: LocalRunner, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw usage(`${runner.name} exited (${child.exitCode ?? child.signalCode}) before it was healthy`);
    const ok = await fetch(`http://${runner.httpAddress}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_INTERVAL_MS));
  }
  throw usage(`${runner.name} was not healthy within ${HEALTH_TIMEOUT_MS} ms`);
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops every child: SIGTERM, then SIGKILL after `STOP_TIMEOUT_MS` (or at once when `force`). */
function stopAll(children: readonly ChildProcess[], force: boolean): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(force ? 'SIGKILL' : 'SIGTERM');
  }
  const timer = force ? undefined : setTimeout(() => void stopAll(children, true), STOP_TIMEOUT_MS);
  return Promise.all(children.map(exited)).then(() => clearTimeout(timer));
}

function summary(runners: readonly LocalRunner[], dataDir: string): string[] {
  const lines = [`local cluster: ${runners.length} runner${runners.length === 1 ? '' : 's'}, data in ${dataDir}`];
  for (const r of runners) lines.push(`  ${r.name}  cluster ${r.clusterAddress}  API http://${r.httpAddress}  admin http://${r.adminAddress}`);
  lines.push(`run the tests: BASE_URL=http://${runners[0]!.httpAddress} bash examples/cluster-tests/tests/e2e.sh`);
  lines.push('Ctrl-C stops every runner gracefully; press it twice to kill them.');
  lines.push('READY');
  return lines;
}

/** Runs the local cluster until every runner has exited; resolves with the exit status. */
export async function runLocalCluster(options: LocalClusterOptions): Promise<number> {
  const runners = await planLocalCluster(options);
  const seed = runners[0]!.clusterAddress;
  const children: ChildProcess[] = [];
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    process.stdout.write(signals === 1 ? 'stopping every runner (Ctrl-C again to kill)\n' : 'killing every runner\n');
    void stopAll(children, signals > 1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The seed first: the others join through it, so it must be up before they try.
    children.push(spawnRunner(runners[0]!, seed, options.dataDir, true));
    await waitHealthy(runners[0]!, children[0]!);
    for (const runner of runners.slice(1)) children.push(spawnRunner(runner, seed, options.dataDir));
    await Promise.all(runners.slice(1).map((r, i) => waitHealthy(r, children[i + 1]!)));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(children, signals > 1);
    return 1;
  }
  if (signals === 0) process.stdout.write(`${summary(runners, options.dataDir).join('\n')}\n`);
  for (const [i, child] of children.entries()) {
    child.once('exit', (code, signal) => {
      if (signals === 0) process.stdout.write(`[${runners[i]!.name}] exited (${code ?? signal}) unexpectedly\n`);
    });
  }
  await Promise.all(children.map(exited));
  return signals > 0 ? 0 : 1;
}

/** True when this file is the process's entry point (not imported by a test). */
function isEntry(): boolean {
  return process.argv[1] !== undefined && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url);
}

if (isEntry()) {
  let options: LocalClusterOptions;
  try {
    options = parseLocalClusterArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  process.exit(await runLocalCluster(options));
}
