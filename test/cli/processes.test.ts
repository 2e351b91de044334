// `flotilla start` as real processes on 127.0.0.1: three of them form a cluster that
// `flotilla status` reports, a kill -9 is detected as a failure, SIGTERM is a graceful
// leave, and bad flags exit with status 2 and one line on stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeClusterPort, tcpFree } from '../../src/cli/dev-command.js';
import { runStatus } from '../../src/cli/status.js';
import { DEV_ADMIN_TOKEN } from '../../src/gateway/index.js';
import type { MembersReport } from '../../src/gateway/admin-source.js';
import { jsonLines, randomSecret, runCli, runCliToEnd, type CliProcess } from './cli-process.js';
import { waitFor } from '../node/helpers.js';

const ENV = { FLOTILLA_SECRET: randomSecret(), FLOTILLA_ADMIN_TOKEN: randomSecret(), LOG_LEVEL: 'info' };
/** The documented `--swim` flag, scaled down so failures are detected within seconds. */
const FAST = 'probeIntervalMs=200,probeTimeoutMs=100,gossipIntervalMs=50,suspicionMult=2,joinBackoffInitialMs=50,joinBackoffMaxMs=500,leaveTimeoutMs=2000';

interface Node {
  readonly name: string;
  readonly address: string;
  readonly proc: CliProcess;
  url?: string;
  /** Admin token of the node; the `flotilla start` nodes' when absent. */
  readonly token?: string;
}

function adminUrl(node: Node): string | undefined {
  const line = jsonLines(node.proc.stdout).find((l) => l.msg === 'admin API listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

async function members(node: Node): Promise<MembersReport | undefined> {
  const result = await runStatus({ url: node.url!, json: true, timeoutMs: 2_000, token: node.token ?? ENV.FLOTILLA_ADMIN_TOKEN });
  if (result.exitCode !== 0) return undefined;
  return (JSON.parse(result.output) as { members: MembersReport }).members;
}

/** Polls the node's admin API until `check` accepts its members report. */
async function waitForMembers(node: Node, what: string, check: (report: MembersReport) => boolean): Promise<void> {
  let last: MembersReport | undefined;
  const deadline = Date.now() + 30_000;
  for (;;) {
    last = await members(node);
    if (last !== undefined && check(last)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} at ${node.name}; last report: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const stateOf = (report: MembersReport, nodeId: string): string | undefined => report.members.find((m) => m.nodeId === nodeId)?.state;

describe('flotilla start, as processes', () => {
  const nodes: Node[] = [];

  beforeAll(async () => {
    const addresses: string[] = [];
    for (let i = 0; i < 3; i++) addresses.push(`127.0.0.1:${await freeClusterPort('127.0.0.1')}`);
    addresses.forEach((address, i) => {
      const name = `p${i + 1}`;
      const args = ['start', '--node-id', name, '--listen', address, '--seeds', addresses[0]!, '--http', '127.0.0.1:0', '--swim', FAST, '--tags', `index=${i + 1}`];
      nodes.push({ name, address, proc: runCli(args, ENV) });
    });
    await waitFor(() => nodes.every((n) => (n.url = adminUrl(n)) !== undefined), 'every admin API to listen', 30_000);
  });

  afterAll(async () => {
    for (const node of nodes) node.proc.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.proc.exited));
  });

  it('forms one cluster with one master, as flotilla status reports it', async () => {
    for (const node of nodes) {
      await waitForMembers(node, 'three alive members and a master', (r) => r.members.filter((m) => m.state === 'alive').length === 3 && r.master === 'p1');
    }
    const status = await runCliToEnd(['status', '--json', '--url', nodes[1]!.url!], { FLOTILLA_ADMIN_TOKEN: ENV.FLOTILLA_ADMIN_TOKEN });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout.join('\n')) as { health: { status: string }; members: MembersReport; partitions: { partitionCount: number } };
    expect(report.health.status).toBe('ok');
    expect(report.partitions.partitionCount).toBe(271);
    expect(report.members.master).toBe('p1');
    expect(report.members.members.map((m) => m.nodeId).sort()).toEqual(['p1', 'p2', 'p3']);
    expect(report.members.members.find((m) => m.nodeId === 'p3')?.tags).toEqual({ index: '3' });
  });

  it('marks a node killed with SIGKILL as dead', async () => {
    nodes[2]!.proc.child.kill('SIGKILL');
    for (const node of nodes.slice(0, 2)) await waitForMembers(node, 'p3 dead', (r) => stateOf(r, 'p3') === 'dead');
  });

  it('leaves gracefully on SIGTERM: exit 0, and the others record it as left', async () => {
    nodes[1]!.proc.child.kill('SIGTERM');
    expect(await nodes[1]!.proc.exited).toBe(0);
    await waitForMembers(nodes[0]!, 'p2 left', (r) => stateOf(r, 'p2') === 'left');
    const lines = jsonLines(nodes[1]!.proc.stdout).map((l) => l.msg);
    expect(lines).toContain('leaving the cluster');
    expect(lines).toContain('left the cluster');
  });
});

describe.concurrent('flotilla command-line errors', () => {
  it.each([
    [['start', '--bogus']],
    [['start', '--listen', 'nowhere', '--dev']],
    [['start', '--listen', '192.0.2.1:7946', '--dev']],
    [['dev', '--nodes', '0']],
  ])('flotilla %j exits with 2 and one line on stderr', async (args) => {
    const result = await runCliToEnd(args, { FLOTILLA_SECRET: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/^flotilla/);
  });

  it.each([
    ['a short secret', { FLOTILLA_SECRET: 'a-long-cluster-secret-0123' }, /the cluster secret is too short: 26 characters.*openssl rand -base64 32/],
    ['a repetitive secret', { FLOTILLA_SECRET: 'abababababababababababababababababababab' }, /the cluster secret has too little entropy.*openssl rand -base64 32/],
    ['--http without an admin token', { FLOTILLA_SECRET: randomSecret(), FLOTILLA_ADMIN_TOKEN: '' }, /--http needs an admin token: set FLOTILLA_ADMIN_TOKEN/],
    ['a weak admin token', { FLOTILLA_SECRET: randomSecret(), FLOTILLA_ADMIN_TOKEN: 'admin-admin-admin-admin-admin-admin' }, /--admin-token \(FLOTILLA_ADMIN_TOKEN\): the admin token has too little entropy/],
  ])('flotilla start with %s exits with 2 and says how to make a good one', async (_name, env, message) => {
    const result = await runCliToEnd(['start', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(message);
  });
});

describe('flotilla start, stopped while joining', () => {
  it('exits 0 on SIGTERM while its seeds do not answer, without waiting for the join', async () => {
    const silentSeed = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
    const proc = runCli(['start', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--seeds', silentSeed, '--swim', FAST], ENV);
    try {
      // The admin API listens before the join; its line says the node is past start-up.
      await waitFor(() => jsonLines(proc.stdout).some((l) => l.msg === 'admin API listening'), 'the admin API to listen', 30_000);
      expect(jsonLines(proc.stdout).some((l) => l.msg === 'joined the cluster' || l.msg === 'formed a new cluster')).toBe(false);
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
  });
});

describe('flotilla dev', () => {
  it('runs a local cluster of processes and stops it gracefully on SIGINT', async () => {
    let base = 0;
    for (let attempt = 0; attempt < 20 && base === 0; attempt++) {
      const port = await freeClusterPort('127.0.0.1');
      if (port < 65_000 && (await tcpFree('127.0.0.1', port + 1))) base = port;
    }
    const dev = runCli(['dev', '--nodes', '2', '--http', String(base), '--swim', FAST], {});
    try {
      await waitFor(() => dev.stdout.some((l) => l.startsWith('status: flotilla status --url')), 'the summary', 30_000);
      const summary = dev.stdout.join('\n');
      expect(summary).toContain(`admin http://127.0.0.1:${base}`);
      expect(summary).toContain(`admin http://127.0.0.1:${base + 1}`);
      expect(summary).toContain(`dashboard: http://127.0.0.1:${base}/dashboard`);
      expect(summary).toMatch(/WARNING: dev mode/);
      expect(summary).toContain(`WARNING: the admin APIs accept the public dev token ${DEV_ADMIN_TOKEN}`);
      const second: Node = { name: 'node-2', address: '', proc: dev, url: `http://127.0.0.1:${base + 1}`, token: DEV_ADMIN_TOKEN };
      await waitForMembers(second, 'two alive members', (r) => r.members.filter((m) => m.state === 'alive').length === 2 && r.master === 'node-1');
      // `flotilla status` with no token sends the dev token, so a dev cluster needs no setup.
      expect((await runCliToEnd(['status', '--json', '--url', second.url!], { FLOTILLA_ADMIN_TOKEN: '' })).code).toBe(0);
      expect(dev.stdout.some((l) => l.startsWith('node-1 | ') && l.includes('formed a new cluster'))).toBe(true);
      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
      expect(dev.stdout.filter((l) => l.includes('left the cluster'))).toHaveLength(2);
      expect(await runStatus({ url: second.url!, timeoutMs: 1_000 })).toMatchObject({ exitCode: 1 });
    } finally {
      dev.child.kill('SIGKILL');
    }
  });
});
