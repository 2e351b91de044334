// Hostile input against a cluster of real `flotilla start` processes: a node with the
// wrong secret is refused (it exits non-zero saying why and never shows up in a member
// list), and garbage bytes on a node's TCP and UDP ports are counted in /metrics and
// dropped without disturbing the cluster: same members, no process dies, writes work.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport } from '../../src/gateway/admin-source.js';
import { adminCall, adminUrlOf, metricSum, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET = randomSecret();
const SETTLE_MS = 45_000;
/** Garbage datagrams sent to one node. */
const DATAGRAMS = 20;

interface Node {
  readonly process: NodeProcess;
  url: string;
}

const nodes: Node[] = [];
const random = new SeededRandom(42);

function garbage(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(256);
  return bytes;
}

async function membersOf(node: Node): Promise<MembersReport> {
  const answer = await adminCall(node.url, 'GET', '/cluster/members');
  if (answer.status !== 200) throw new Error(`members: ${answer.status}`);
  return answer.body as MembersReport;
}

/** Node ids each node lists, alive or not, with the master: one string per node. */
async function memberLists(): Promise<string[]> {
  const reports = await Promise.all(nodes.map((n) => membersOf(n)));
  return reports.map((r) => `${r.master}: ${r.members.map((m) => `${m.nodeId}=${m.state}`).sort().join(',')}`);
}

async function scrape(node: Node): Promise<string> {
  const answer = await adminCall(node.url, 'GET', '/metrics');
  expect(answer.status).toBe(200);
  return String(answer.body);
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Opens a TCP connection, writes `bytes`, and resolves once the peer closes it (or after `timeoutMs`). */
function tcpGarbage(address: string, bytes: Buffer, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(hostPort(address));
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => undefined);
    socket.write(bytes);
  });
}

async function udpGarbage(address: string, datagrams: readonly Buffer[]): Promise<void> {
  const socket = createSocket('udp4');
  const { host, port } = hostPort(address);
  try {
    for (const d of datagrams) await new Promise<void>((resolve, reject) => socket.send(d, port, host, (err) => (err ? reject(err) : resolve())));
  } finally {
    socket.close();
  }
}

describe('hostile input against a cluster of flotilla processes', () => {
  beforeAll(async () => {
    const addresses: string[] = [];
    for (let i = 0; i < 3; i++) addresses.push(`127.0.0.1:${await freeClusterPort('127.0.0.1')}`);
    for (const [i, address] of addresses.entries()) {
      const process = startNodeProcess({ name: `h${i + 1}`, address, seed: addresses[0]!, secret: SECRET });
      nodes.push({ process, url: '' });
    }
    await pollUntil(() => nodes.every((n) => (n.url = adminUrlOf(n.process) ?? '') !== ''), 'every admin API', SETTLE_MS);
    await pollUntil(
      async () => (await memberLists()).every((l) => l === 'h1: h1=alive,h2=alive,h3=alive'),
      'three alive members and one master everywhere',
      SETTLE_MS,
    );
  }, SETTLE_MS * 2);

  afterAll(async () => {
    for (const n of nodes) n.process.proc.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.process.proc.exited));
  });

  it('refuses a node with the wrong secret: it exits non-zero saying why and is never listed', async () => {
    const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
    const intruder = startNodeProcess({ name: 'intruder', address, seed: nodes[0]!.process.address, secret: randomSecret() });
    const seen: string[] = [];
    let exit: number | string | undefined;
    void intruder.proc.exited.then((code) => (exit = code));
    // Watch the member lists for as long as the intruder runs, not just after it exits.
    await pollUntil(
      async () => {
        seen.push(...(await memberLists()).filter((l) => l.includes('intruder')));
        return exit !== undefined;
      },
      'the intruder to exit',
      SETTLE_MS,
      () => intruder.proc.stderr.join('\n'),
    );
    expect(exit).toBe(1);
    expect(intruder.proc.stderr).toHaveLength(1);
    expect(intruder.proc.stderr[0]).toMatch(/^flotilla start: Authentication failed: .*secret/);
    expect(seen).toEqual([]);
    expect((await memberLists()).filter((l) => l.includes('intruder'))).toEqual([]);
  }, SETTLE_MS + 10_000);

  it('counts and drops garbage on the TCP and UDP ports; the cluster is undisturbed', async () => {
    const target = nodes[1]!;
    const membersBefore = await memberLists();
    const before = await scrape(target);
    const udpBefore = metricSum(before, 'flotilla_transport_dropped_total', { channel: 'udp' });
    const tcpBefore = metricSum(before, 'flotilla_transport_dropped_total', { channel: 'tcp' });

    await udpGarbage(target.process.address, Array.from({ length: DATAGRAMS }, (_, i) => garbage(1 + i * 37)));
    const framed = garbage(36);
    framed.writeUInt32BE(32, 0);
    await Promise.all([
      tcpGarbage(target.process.address, garbage(512)),
      tcpGarbage(target.process.address, framed),
      tcpGarbage(target.process.address, Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n')),
    ]);

    let after = '';
    await pollUntil(
      async () => {
        after = await scrape(target);
        return (
          metricSum(after, 'flotilla_transport_dropped_total', { channel: 'udp' }) >= udpBefore + DATAGRAMS &&
          metricSum(after, 'flotilla_transport_dropped_total', { channel: 'tcp' }) >= tcpBefore + 3
        );
      },
      'the garbage to be counted',
      SETTLE_MS,
      () => after.split('\n').filter((l) => l.startsWith('flotilla_transport_dropped_total')).join('\n'),
    );

    for (const n of nodes) expect(n.process.proc.child.exitCode, n.process.name).toBeNull();
    expect(await memberLists()).toEqual(membersBefore);
    for (const [i, n] of nodes.entries()) {
      expect(await adminCall(n.url, 'PUT', `/kv/after-garbage-${i}`, { i })).toEqual({ status: 200, body: { ok: true } });
    }
    for (const [i, n] of nodes.entries()) {
      const key = `after-garbage-${(i + 1) % nodes.length}`;
      expect(await adminCall(n.url, 'GET', `/kv/${key}`)).toEqual({ status: 200, body: { key, value: { i: (i + 1) % nodes.length } } });
    }
  }, SETTLE_MS + 10_000);
});
