// Real network splits for tests: two "sites" (Linux network namespaces) joined by a veth
// pair, `flotilla start` processes inside them, and the link cut and healed with
// `ip link set dev X down/up`. The test process stays in its own namespace and reaches each
// node's admin API (bound to 127.0.0.1 inside its site) through a small relay per site over
// a Unix socket. Names carry this process's pid, so runs never collide, and namespaces left
// by a run that died are removed by the next one. Needs root and `ip` (iproute2).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FAST_SWIM, jsonLines, PROCESS_ADMIN_TOKEN, type AdminAnswer } from '../cli/cli-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RELAY = fileURLToPath(new URL('./netns-relay.ts', import.meta.url));

/** Prefix of every namespace and interface a lab creates (then the creating pid). */
const NAME_PREFIX = 'flo';
/** The sites' shared subnet: site s, node k gets 10.213.0.(100 s + k + 1). */
const SUBNET = '10.213.0';
/** Port every node listens on (each node has its own address). */
const CLUSTER_PORT = 7946;
/** Most nodes per site (addresses .1-.99 and .101-.199). */
const NODES_PER_SITE_MAX = 99;
/** Longest wait for a relay to listen. */
const RELAY_START_MS = 10_000;

let labsCreated = 0;

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return `\`ip netns\` is unavailable: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

/** Prints why a suite is skipped (vitest shows a skip without the reason). */
export function reportSkip(suite: string, reason: string | undefined): void {
  if (reason !== undefined) process.stderr.write(`skipping ${suite}: ${reason}\n`);
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces and relay sockets that a lab of a process no longer running left behind. */
function sweepLeftovers(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const match = new RegExp(`^(${NAME_PREFIX}(\\d+)x\\d+s\\d+)\\b`).exec(line);
    if (match === null || alive(Number(match[2]))) continue;
    spawnSync('ip', ['netns', 'del', match[1]!]);
  }
}

/** One site: a namespace with one end of the link. */
export interface Site {
  readonly index: number;
  readonly ns: string;
  readonly dev: string;
  readonly relaySocket: string;
  relay?: ChildProcess;
}

/** A `flotilla start` process in a site. */
export interface LabNode {
  readonly name: string;
  readonly site: Site;
  readonly ip: string;
  /** Cluster address, `ip:port`. */
  readonly address: string;
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<number | string>;
}

/** Options of `NetLab.startNode`. */
export interface LabNodeOptions {
  readonly name: string;
  readonly site: number;
  /** Cluster addresses to join through. */
  readonly seeds: readonly string[];
  readonly secret: string;
  /** `--swim` overrides; FAST_SWIM by default. */
  readonly swim?: string;
  readonly logLevel?: string;
  /** More `flotilla start` flags (e.g. `--client 0.0.0.0:0`). */
  readonly extraArgs?: readonly string[];
  /** More environment variables (e.g. FLOTILLA_JWT_SECRET). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Two namespaces joined by a veth pair, and the nodes running in them. */
export class NetLab {
  readonly sites: Site[] = [];
  readonly nodes = new Map<string, LabNode>();
  private readonly perSite: number[] = [];
  private readonly blackholes: { site: Site; target: string }[] = [];
  private destroyed = false;

  private constructor(readonly id: string) {}

  /** Creates two sites and their link (up), plus one relay per site. */
  static async create(): Promise<NetLab> {
    sweepLeftovers();
    const lab = new NetLab(`${NAME_PREFIX}${process.pid}x${++labsCreated}`);
    try {
      for (let s = 0; s < 2; s++) {
        const site: Site = { index: s, ns: `${lab.id}s${s}`, dev: `${lab.id}v${s}`, relaySocket: join(tmpdir(), `${lab.id}s${s}.sock`) };
        ip('netns', 'add', site.ns);
        lab.sites.push(site);
        lab.perSite.push(0);
        ip('-n', site.ns, 'link', 'set', 'lo', 'up');
      }
      const [a, b] = lab.sites as [Site, Site];
      ip('link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns);
      for (const site of lab.sites) ip('-n', site.ns, 'link', 'set', site.dev, 'up');
      for (const site of lab.sites) await lab.startRelay(site);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private async startRelay(site: Site): Promise<void> {
    rmSync(site.relaySocket, { force: true });
    const child = spawn('ip', ['netns', 'exec', site.ns, process.execPath, '--import', 'tsx', RELAY, site.relaySocket], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    site.relay = child;
    const deadline = Date.now() + RELAY_START_MS;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay of ${site.ns} did not start within ${RELAY_START_MS} ms`)), Math.max(0, deadline - Date.now()));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'relay listening') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`relay of ${site.ns} exited with ${code}`));
      });
    });
  }

  /** Starts `flotilla start` for one node in `options.site`, its admin API on a free port of the site's loopback. */
  startNode(options: LabNodeOptions): LabNode {
    const site = this.sites[options.site]!;
    const k = this.perSite[options.site]!;
    if (k >= NODES_PER_SITE_MAX) throw new Error(`at most ${NODES_PER_SITE_MAX} nodes per site`);
    this.perSite[options.site] = k + 1;
    const address = `${SUBNET}.${100 * options.site + k + 1}`;
    ip('-n', site.ns, 'addr', 'add', `${address}/24`, 'dev', site.dev);
    const args = ['start', '--node-id', options.name, '--listen', `${address}:${CLUSTER_PORT}`, '--seeds', options.seeds.join(','), '--http', '127.0.0.1:0', '--swim', options.swim ?? FAST_SWIM, ...(options.extraArgs ?? [])];
    const child = spawn('ip', ['netns', 'exec', site.ns, process.execPath, '--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...options.env, FLOTILLA_SECRET: options.secret, FLOTILLA_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN, LOG_LEVEL: options.logLevel ?? 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    const stderr: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
    const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    const node: LabNode = { name: options.name, site, ip: address, address: `${address}:${CLUSTER_PORT}`, child, stdout, stderr, exited };
    this.nodes.set(options.name, node);
    return node;
  }

  /** The cluster address node `k` (0-based) of `site` gets; known before it starts. */
  static addressOf(site: number, k: number): string {
    return `${SUBNET}.${100 * site + k + 1}:${CLUSTER_PORT}`;
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** The admin port `name` logged once listening, or undefined before that. */
  adminPort(name: string): number | undefined {
    const line = jsonLines(this.node(name).stdout).find((l) => l.msg === 'admin API listening');
    return typeof line?.url === 'string' ? Number(new URL(line.url).port) : undefined;
  }

  /** One admin API request to `name`, through its site's relay. Rejects on a network error or after `timeoutMs`. */
  admin(name: string, method: string, path: string, body?: unknown, timeoutMs = 5_000): Promise<AdminAnswer> {
    const node = this.node(name);
    const port = this.adminPort(name);
    if (port === undefined) return Promise.reject(new Error(`${name} has no admin API yet`));
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          method,
          path,
          host: '127.0.0.1',
          port,
          timeout: timeoutMs,
          headers: {
            authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
          createConnection: () => {
            const socket = createConnection(node.site.relaySocket);
            socket.write(`127.0.0.1:${port}\n`);
            return socket;
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
            } catch {
              resolve({ status: res.statusCode ?? 0, body: text });
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${name}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Cuts the link between the sites (both directions). */
  cut(): void {
    ip('-n', this.sites[0]!.ns, 'link', 'set', 'dev', this.sites[0]!.dev, 'down');
  }

  /** Brings the link back up (and removes one-way blocks). */
  heal(): void {
    for (const { site, target } of this.blackholes.splice(0)) ip('-n', site.ns, 'route', 'del', 'blackhole', `${target}/32`);
    ip('-n', this.sites[0]!.ns, 'link', 'set', 'dev', this.sites[0]!.dev, 'up');
  }

  /**
   * One-way split: packets leaving site `from` for site `to` are dropped (a blackhole
   * route per node address of `to`), while `to` still reaches `from`. TCP needs both
   * directions, so only `to`'s UDP datagrams arrive.
   */
  blockOneWay(from: number, to: number): void {
    const site = this.sites[from]!;
    for (const node of this.nodes.values()) {
      if (node.site.index !== to) continue;
      ip('-n', site.ns, 'route', 'add', 'blackhole', `${node.ip}/32`);
      this.blackholes.push({ site, target: node.ip });
    }
  }

  /** Freezes `name` (SIGSTOP): its sockets stay open and unanswered. */
  freeze(name: string): void {
    this.node(name).child.kill('SIGSTOP');
  }

  /** Resumes a frozen node (SIGCONT). */
  thaw(name: string): void {
    this.node(name).child.kill('SIGCONT');
  }

  /** Writes every node's output to `dir/<name>.log` (to read after a failure). */
  saveLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const node of this.nodes.values()) writeFileSync(join(dir, `${node.name}.log`), [...node.stdout, ...node.stderr].join('\n'));
  }

  /** Stops every process and removes the namespaces, the link and the relay sockets. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const exits: Promise<unknown>[] = [];
    for (const node of this.nodes.values()) {
      if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
      exits.push(node.exited);
    }
    for (const site of this.sites) {
      if (site.relay !== undefined && site.relay.exitCode === null) {
        site.relay.kill('SIGKILL');
        exits.push(new Promise((resolve) => site.relay!.on('close', resolve)));
      }
    }
    await Promise.all(exits);
    for (const site of this.sites) {
      spawnSync('ip', ['netns', 'del', site.ns]);
      if (existsSync(site.relaySocket)) rmSync(site.relaySocket, { force: true });
    }
  }
}
