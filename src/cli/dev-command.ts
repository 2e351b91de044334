/**
 * `flotilla dev`: a local cluster of real node processes on the loopback interface, for
 * trying Flotilla out. Each node is a `flotilla start` child with free ports, node 1
 * seeds the others, the admin API of node i listens on the HTTP base port + i - 1, and
 * every child's log lines come out prefixed with its name. Ctrl-C makes every node leave
 * gracefully (bounded, then killed); a second Ctrl-C kills them at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isLogLevel } from '../node/node-logger.js';
import { parseCount, parseHttpAddress, parseKvOverrides, parseSwimOverrides, UsageError, USAGE_EXIT_CODE, oneLine } from './cli-options.js';
import { namePrefix, renderLogLine, type RenderOptions } from './log-lines.js';
import { DEV_JWT_SECRET } from './client-gateway-plan.js';
import { DEV_ADMIN_TOKEN } from '../gateway/admin-access.js';
import { DEV_HTTP_PORT_DEFAULT, DEV_NODES_DEFAULT } from './dev-defaults.js';

export { DEV_HTTP_PORT_DEFAULT, DEV_NODES_DEFAULT };

/** The flags of `flotilla dev`. */
export interface DevFlags {
  readonly nodes?: string;
  readonly http?: string;
  readonly data?: string;
  readonly logLevel?: string;
  readonly clusterId?: string;
  readonly swim?: string;
  readonly kv?: string;
}

/** Most nodes `flotilla dev` starts. */
export const DEV_NODES_MAX = 16;
/**
 * How long one node gets to leave after its SIGINT before it is killed, in ms: above the
 * node's own worst case (drain 10 s, leave 10 s, close 5 s).
 */
export const DEV_STOP_TIMEOUT_MS = 30_000;
/** Attempts to find a port free for both TCP and UDP, per node. */
export const PORT_ATTEMPTS_MAX = 32;

const LOOPBACK = '127.0.0.1';

/** Environment variables `flotilla start` reads, kept from leaking into the children. */
const START_ENV = [
  'LISTEN_ADDR',
  'SEEDS',
  'RUNNER_ADDRESS',
  'FLOTILLA_SECRET',
  'FLOTILLA_TAGS',
  'FLOTILLA_NODE_ID',
  'FLOTILLA_HTTP',
  'FLOTILLA_CLIENT',
  'FLOTILLA_CLIENT_ADVERTISE',
  'FLOTILLA_JWT_SECRET',
  'FLOTILLA_JWKS_URL',
  'FLOTILLA_DATA_DIR',
  'FLOTILLA_ADMIN_TOKEN',
  'FLOTILLA_ADMIN_HOSTS',
];

/** One node of the dev cluster. */
export interface DevNode {
  readonly name: string;
  readonly address: string;
  readonly httpPort: number;
  readonly args: readonly string[];
}

/** The cluster to start. */
export interface DevPlan {
  readonly nodes: readonly DevNode[];
  readonly httpHost: string;
}

/** A port free for both TCP and UDP on `host` right now (the OS picks it). */
export async function freeClusterPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS_MAX; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ host, port: 0, exclusive: true }, () => {
        const bound = server.address();
        server.close(() => resolve(typeof bound === 'object' && bound !== null ? bound.port : 0));
      });
    });
    if (await udpFree(host, port)) return port;
  }
  throw new UsageError(`no port free for both TCP and UDP on ${host} after ${PORT_ATTEMPTS_MAX} attempts`);
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

/** Whether a TCP listener can bind `host:port` now. */
export function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Checks the flags, picks the ports, and builds each child's `flotilla start` arguments. */
export async function planDev(flags: DevFlags): Promise<DevPlan> {
  const count = flags.nodes === undefined ? DEV_NODES_DEFAULT : parseCount(flags.nodes, '--nodes', 1, DEV_NODES_MAX);
  const http = parseHttpAddress(flags.http ?? String(DEV_HTTP_PORT_DEFAULT));
  if (http.port !== 0 && http.port + count - 1 > 65_535) throw new UsageError(`--http: ports ${http.port}..${http.port + count - 1} go past 65535`);
  if (flags.logLevel !== undefined && !isLogLevel(flags.logLevel)) throw new UsageError(`--log-level: ${JSON.stringify(flags.logLevel)} is not a log level`);
  if (flags.swim !== undefined) parseSwimOverrides(flags.swim);
  if (flags.kv !== undefined) parseKvOverrides(flags.kv);
  const nodes: DevNode[] = [];
  let seed = '';
  for (let i = 1; i <= count; i++) {
    const name = `node-${i}`;
    const address = `${LOOPBACK}:${await freeClusterPort(LOOPBACK)}`;
    seed ||= address;
    const httpPort = http.port === 0 ? 0 : http.port + i - 1;
    if (httpPort !== 0 && !(await tcpFree(http.host, httpPort))) {
      throw new UsageError(`--http: port ${httpPort} (admin API of ${name}) is in use; pick another base port with --http`);
    }
    const args = ['start', '--dev', '--node-id', name, '--listen', address, '--seeds', seed, '--http', `${http.host.includes(':') ? `[${http.host}]` : http.host}:${httpPort}`];
    // The whole cluster starts here, through the first node: it forms even when its data
    // directory remembers a former cluster (whose ports were other ones).
    if (flags.data !== undefined) args.push('--data', join(flags.data, name), ...(i === 1 ? ['--force-form'] : []));
    if (flags.logLevel !== undefined) args.push('--log-level', flags.logLevel);
    if (flags.clusterId !== undefined) args.push('--cluster-id', flags.clusterId);
    if (flags.swim !== undefined) args.push('--swim', flags.swim);
    if (flags.kv !== undefined) args.push('--kv', flags.kv);
    // Every dev node serves clients on a port of its own, with the public dev JWT secret (it says so in its log).
    args.push('--client', `${LOOPBACK}:0`);
    nodes.push({ name, address, httpPort, args });
  }
  return { nodes, httpHost: http.host };
}

/** The lines printed once the children are spawned. */
export function devSummary(plan: DevPlan): string[] {
  const width = Math.max(...plan.nodes.map((n) => n.name.length));
  const host = plan.httpHost === '0.0.0.0' ? LOOPBACK : plan.httpHost;
  const lines = [
    `flotilla dev: ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'} on ${LOOPBACK}`,
    'WARNING: dev mode uses the public development secret; anyone who can reach these ports can join. Never use it for a real cluster.',
    `WARNING: the admin APIs accept the public dev token ${DEV_ADMIN_TOKEN}; anyone on this machine can read and write through them.`,
    `WARNING: the client gateways (random ports, see each node's "client gateway listening" line) accept tokens signed with the public dev JWT secret ${DEV_JWT_SECRET}.`,
  ];
  for (const node of plan.nodes) {
    const admin = node.httpPort === 0 ? 'admin API on a random port (see its log)' : `admin http://${host}:${node.httpPort}`;
    lines.push(`  ${node.name.padEnd(width)}  cluster ${node.address}  ${admin}`);
  }
  const first = plan.nodes[0]!;
  if (first.httpPort !== 0) {
    lines.push(`dashboard: http://${host}:${first.httpPort}/dashboard (admin token: the dev token above)`);
    lines.push(`status: flotilla status --url http://${host}:${first.httpPort}`);
  }
  lines.push('Ctrl-C stops every node gracefully; press it twice to kill them.');
  return lines;
}

/** Runs the dev cluster until every node has exited; returns the exit status. */
export async function runDev(flags: DevFlags): Promise<number> {
  let plan: DevPlan;
  try {
    plan = await planDev(flags);
  } catch (err) {
    process.stderr.write(`flotilla dev: ${oneLine(err)}\n`);
    return err instanceof UsageError ? USAGE_EXIT_CODE : 1;
  }
  const render: RenderOptions = { colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined };
  const width = Math.max(...plan.nodes.map((n) => n.name.length));
  for (const line of devSummary(plan)) process.stdout.write(`${line}\n`);
  // The seed goes first: the others would otherwise spend their first join attempts
  // (and log lines) on a seed that is not up yet. Bounded, so a seed that never comes up
  // still leaves the others to report their own errors. Without a known admin port
  // there is nothing clean to poll, and the others' join backoff covers the gap.
  const [first, ...rest] = plan.nodes;
  const children = [spawnNode(first!, 0, width, render)];
  if (first!.httpPort !== 0) await waitForHealthy(plan.httpHost, first!.httpPort, SEED_WAIT_MS);
  rest.forEach((node, index) => children.push(spawnNode(node, index + 1, width, render)));
  return superviseChildren(children, plan.nodes);
}

/** Longest wait for the seed to report healthy before starting the other nodes. */
const SEED_WAIT_MS = 15_000;

/** Interval between health polls of the seed. */
const SEED_POLL_MS = 100;

/** Resolves once the admin API at host:port answers /health with 200, or after `timeoutMs`. */
async function waitForHealthy(host: string, port: number, timeoutMs: number): Promise<void> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/health`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(SEED_POLL_MS * 10) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, SEED_POLL_MS));
  }
}

function spawnNode(node: DevNode, index: number, width: number, render: RenderOptions): ChildProcess {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !START_ENV.includes(key)));
  env.FLOTILLA_STOP_ON_STDIN_END = '1';
  const entry = process.argv[1] ?? '';
  // Detached: a Ctrl-C in the terminal reaches only this process, which forwards one
  // SIGINT per child (two would force an immediate exit).
  const child = spawn(process.execPath, [...process.execArgv, entry, ...node.args], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  const prefix = namePrefix(node.name, index, width, render);
  createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(`${prefix}${renderLogLine(line, render)}\n`));
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`${prefix}${line}\n`));
  child.stdin?.on('error', () => undefined);
  return child;
}

function superviseChildren(children: readonly ChildProcess[], nodes: readonly DevNode[]): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let failed = false;
    let killTimer: NodeJS.Timeout | undefined;
    const alive = new Set(children);
    const killAll = (): void => {
      for (const child of alive) child.kill('SIGKILL');
    };
    // Newest first, one at a time: each leave (and its partition hand-over) then runs
    // against a stable cluster, and node 1, the master, goes last.
    const stopNext = (): void => {
      if (killTimer !== undefined) clearTimeout(killTimer);
      const last = [...alive].pop();
      if (last === undefined) return;
      last.kill('SIGINT');
      killTimer = setTimeout(() => last.kill('SIGKILL'), DEV_STOP_TIMEOUT_MS);
      killTimer.unref();
    };
    const stop = (): void => {
      if (stopping) {
        process.stdout.write('flotilla dev: killing every node\n');
        killAll();
        return;
      }
      stopping = true;
      process.stdout.write(`flotilla dev: stopping ${alive.size} node(s) gracefully, newest first (Ctrl-C again to kill)\n`);
      stopNext();
    };
    children.forEach((child, index) => {
      child.on('exit', (code, signal) => {
        alive.delete(child);
        if (!stopping) {
          failed = true;
          process.stderr.write(`flotilla dev: ${nodes[index]!.name} exited (${signal ?? `code ${code ?? '?'}`}); stopping the others\n`);
          stop();
        } else stopNext();
        if (alive.size > 0) return;
        if (killTimer !== undefined) clearTimeout(killTimer);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(failed ? 1 : 0);
      });
    });
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.once('exit', killAll);
  });
}
