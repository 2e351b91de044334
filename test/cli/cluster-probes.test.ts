// Probes of a host without the cluster secret or the admin token against a cluster of real
// `flotilla start` processes, each bounded in time: a flood of idle connections on the
// seed's cluster port does not stop a member joining through it; 16 MiB length prefixes
// before the handshake are refused without being buffered; a Hello yields a bare nonce;
// garbage from rotating UDP source ports costs one log line; idle and slowloris admin
// connections leave /health answering; the admin API refuses a rebound Host, a missing
// token and a KV value that is not UTF-8.
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport } from '../../src/gateway/admin-source.js';
import { encodeFrame, encodeHello, FrameKind } from '../../src/transport/envelope.js';
import { AUTH_NONCE_BYTES, freshNonce } from '../../src/transport/frame-auth.js';
import { adminCall, adminUrlOf, jsonLines, metricSum, PROCESS_ADMIN_TOKEN, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET = randomSecret();
const SETTLE_MS = 45_000;
const PROBE_MS = 30_000;

interface Node {
  readonly process: NodeProcess;
  url: string;
}

const nodes: Node[] = [];
const held: Socket[] = [];

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Opens a TCP connection to `address` and writes `bytes`; resolves once connected. */
async function open(address: string, bytes?: Uint8Array | string): Promise<{ socket: Socket; received: Buffer[]; closed: Promise<void> }> {
  const socket = connect(hostPort(address));
  held.push(socket);
  const received: Buffer[] = [];
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (bytes !== undefined) socket.write(bytes);
  return { socket, received, closed };
}

/** Delay before a flood connection the node closed is reopened, in ms: keeps the churn modest. */
const FLOOD_REOPEN_MS = 100;

/**
 * Idle TCP connections to `address` from `sources` loopback addresses (127.0.1.x), each
 * reopened `FLOOD_REOPEN_MS` after the node closes it, until `stop()`.
 */
class Flood {
  opened = 0;
  readonly started: Promise<void>;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly address: string,
    count: number,
    private readonly sources: number,
  ) {
    this.started = (async () => {
      for (let i = 0; i < count; i++) await this.connect(i);
    })();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private async connect(i: number): Promise<void> {
    if (this.stopped) return;
    const socket = connect({ ...hostPort(this.address), localAddress: `127.0.1.${1 + (i % this.sources)}` });
    held.push(socket);
    this.opened++;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.stopped) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.connect(i);
      }, FLOOD_REOPEN_MS);
      this.timers.add(timer);
    });
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

async function members(node: Node): Promise<MembersReport> {
  const answer = await adminCall(node.url, 'GET', '/cluster/members');
  if (answer.status !== 200) throw new Error(`members: ${answer.status}`);
  return answer.body as MembersReport;
}

async function scrape(node: Node): Promise<string> {
  const answer = await adminCall(node.url, 'GET', '/metrics');
  return String(answer.body);
}

function admin(node: Node): { host: string; port: number } {
  const url = new URL(node.url);
  return { host: url.hostname, port: Number(url.port) };
}

/** A raw HTTP request to the node's admin API; resolves with the status line's code. */
async function rawHttp(node: Node, text: string | Uint8Array): Promise<string> {
  const { host, port } = admin(node);
  const { received, closed } = await open(`${host}:${port}`, text);
  await withDeadline(closed, PROBE_MS, 'the admin answer');
  return Buffer.concat(received).toString('utf8');
}

describe('hostile probes against a cluster of flotilla processes', () => {
  beforeAll(async () => {
    const addresses: string[] = [];
    for (let i = 0; i < 3; i++) addresses.push(`127.0.0.1:${await freeClusterPort('127.0.0.1')}`);
    for (const [i, address] of addresses.entries()) nodes.push({ process: startNodeProcess({ name: `q${i + 1}`, address, seed: addresses[0]!, secret: SECRET }), url: '' });
    await pollUntil(() => nodes.every((n) => (n.url = adminUrlOf(n.process) ?? '') !== ''), 'every admin API', SETTLE_MS);
    await pollUntil(async () => (await Promise.all(nodes.map(members))).every((r) => r.members.filter((m) => m.state === 'alive').length === 3), 'three alive members', SETTLE_MS);
  }, SETTLE_MS * 2);

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    for (const n of nodes) n.process.proc.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.process.proc.exited));
  });

  it('lets a member join through a seed whose cluster port a flood of idle connections keeps full', async () => {
    const seed = nodes[0]!;
    // 300 idle connections from 150 addresses, each reopened shortly after the node closes
    // it: the listener's 256 slots stay full of strangers for as long as the flood runs.
    const flood = new Flood(seed.process.address, 300, 150);
    try {
      await flood.started;
      const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
      const joiner: Node = { process: startNodeProcess({ name: 'q4', address, seed: seed.process.address, secret: SECRET }), url: '' };
      nodes.push(joiner);
      await pollUntil(async () => (await members(seed)).members.some((m) => m.nodeId === 'q4' && m.state === 'alive'), 'q4 alive at the seed', PROBE_MS, () =>
        joiner.process.proc.stderr.join('\n'),
      );
    } finally {
      flood.stop();
    }
    expect(flood.opened).toBeGreaterThan(300);
    const text = await scrape(seed);
    expect(metricSum(text, 'flotilla_transport_dropped_total', { channel: 'tcp', reason: 'inbound-evicted' })).toBeGreaterThan(0);
  }, PROBE_MS * 2);

  it('refuses 16 MiB length prefixes before the handshake on the prefix alone', async () => {
    const target = nodes[1]!;
    const dropped = async (reason: string): Promise<number> => metricSum(await scrape(target), 'flotilla_transport_dropped_total', { channel: 'tcp', reason });
    const reasons = ['FLO_DECODE_OVERSIZED', 'inbound-evicted', 'handshake-timeout'] as const;
    const before = await Promise.all(reasons.map(dropped));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(16 * 1024 * 1024, 0);
    const body = Buffer.alloc(256 * 1024, 7);
    const probes = await Promise.all(Array.from({ length: 40 }, () => open(target.process.address, Buffer.concat([header, body]))));
    await withDeadline(Promise.all(probes.map((p) => p.closed)), PROBE_MS, 'the node to close every probe');
    const delta = (await Promise.all(reasons.map(dropped))).map((n, i) => n - before[i]!);
    // Each probe was closed on its length prefix, or evicted first by a later one from the
    // same address; none was left waiting for its 16 MiB until the handshake deadline.
    expect(delta[0]).toBeGreaterThan(0);
    expect(delta[0]! + delta[1]!).toBeGreaterThanOrEqual(40);
    expect(delta[2]).toBe(0);
    expect(target.process.proc.child.exitCode).toBeNull();
  }, PROBE_MS * 2);

  it('answers a Hello with a bare nonce: nothing to guess the secret against', async () => {
    const hello = encodeFrame(FrameKind.Hello, 0, encodeHello({ address: '127.0.0.1:1', nodeId: 'stranger', nonce: freshNonce() }));
    const probe = await open(nodes[2]!.process.address, hello);
    await withDeadline(probe.closed, PROBE_MS, 'the handshake deadline to close the probe');
    const bytes = Buffer.concat(probe.received);
    expect(bytes.length).toBe(4 + 1 + AUTH_NONCE_BYTES);
    expect(bytes[4]).toBe(FrameKind.Challenge);
  }, PROBE_MS * 2);

  it('logs garbage from 1,000 rotating UDP source ports once', async () => {
    const target = nodes[2]!;
    const { host, port } = hostPort(target.process.address);
    const drops = async (): Promise<number> => metricSum(await scrape(target), 'flotilla_transport_dropped_total', { channel: 'udp' });
    const before = await drops();
    const linesBefore = jsonLines(target.process.proc.stdout).filter((l) => l.msg === 'dropped UDP datagram').length;
    for (let i = 0; i < 1_000; i++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => socket.send(Buffer.from(`garbage-${i}-xxxxxxxxxxxxxxxxxxxxxxxx`), port, host, (err) => (err ? reject(err) : resolve())));
      socket.close();
      // Paced in batches so the kernel does not drop a burst: every datagram must be counted.
      if (i % 100 === 99) await pollUntil(async () => (await drops()) >= before + i + 1, `${i + 1} datagrams counted`, PROBE_MS);
    }
    const lines = jsonLines(target.process.proc.stdout).filter((l) => l.msg === 'dropped UDP datagram').length - linesBefore;
    expect(lines).toBeLessThanOrEqual(1);
  }, PROBE_MS * 2);

  it('keeps /health answering through 100 idle and 100 slowloris admin connections', async () => {
    const target = nodes[1]!;
    const { host, port } = admin(target);
    for (let i = 0; i < 100; i++) await open(`${host}:${port}`);
    for (let i = 0; i < 100; i++) await open(`${host}:${port}`, `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
    const health = await withDeadline(fetch(`${target.url}/health`), PROBE_MS, '/health');
    expect(health.status).toBe(200);
  }, PROBE_MS * 2);

  it('refuses a rebound Host, a write without the token and a value that is not UTF-8; stores none of them', async () => {
    const target = nodes[0]!;
    const { host, port } = admin(target);
    const rebound = await rawHttp(target, `PUT /kv/probe HTTP/1.1\r\nHost: attacker.example:${port}\r\nAuthorization: Bearer ${PROCESS_ADMIN_TOKEN}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1`);
    expect(rebound).toMatch(/^HTTP\/1\.1 403 /);
    const anonymous = await rawHttp(target, `PUT /kv/probe HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1`);
    expect(anonymous).toMatch(/^HTTP\/1\.1 401 /);
    const notText = Buffer.concat([
      Buffer.from(`PUT /kv/probe HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${PROCESS_ADMIN_TOKEN}\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`),
      Buffer.from([0x22, 0xff, 0xfe, 0x22]),
    ]);
    const refused = await rawHttp(target, notText);
    expect(refused).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused).toContain('FLO_INVALID_UTF8');
    expect((await adminCall(target.url, 'GET', '/kv/probe')).status).toBe(404);
  }, PROBE_MS * 2);
});
