// A restarted member over real `flotilla start` processes: three nodes with data
// directories hold keys; one is killed (-9), the others fail over, and it restarts with
// `--seeds` naming only itself. Its data directory says it was a member, so it rejoins
// through the addresses it last knew instead of forming a cluster of its own: it never
// answers 404 for an existing key, and `/health` is 503 `joining` (with a reason) until
// it is back in the others' cluster. With the whole cluster gone, it waits (503) and
// fails with FLO_REJOIN_NO_PEERS, until an operator starts it with --force-form.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport, PartitionsReport } from '../../src/gateway/admin-source.js';
import { MEMBERSHIP_RECORD_FILE } from '../../src/node/membership-record.js';
import { adminCall, adminUrlOf, jsonLines, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET = randomSecret();
const KEY_COUNT = 200;
/** How long a step may take to settle on a loaded machine. */
const SETTLE_MS = 45_000;
const NAMES = ['r1', 'r2', 'r3'] as const;

const processes: NodeProcess[] = [];
let root = '';

afterAll(async () => {
  for (const p of processes) p.proc.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.proc.exited));
  if (root !== '') await rm(root, { recursive: true, force: true });
});

async function launch(name: string, address: string, seed: string): Promise<{ process: NodeProcess; url: string }> {
  const process = startNodeProcess({ name, address, seed, secret: SECRET, dataDir: join(root, name) });
  processes.push(process);
  let url = '';
  await pollUntil(() => (url = adminUrlOf(process) ?? '') !== '', `${name}'s admin API`, SETTLE_MS, () => process.proc.stderr.join('\n'));
  return { process, url };
}

async function get<T>(url: string, path: string): Promise<T> {
  const answer = await adminCall(url, 'GET', path);
  if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/** True when the node at `url` sees exactly `ids` alive and a full table owned among them. */
async function settledOn(url: string, ids: readonly string[]): Promise<boolean> {
  const members = await get<MembersReport>(url, '/cluster/members');
  const alive = members.members.filter((m) => m.state === 'alive').map((m) => m.nodeId).sort();
  if (alive.join() !== [...ids].sort().join()) return false;
  const table = await get<PartitionsReport>(url, '/cluster/partitions');
  return table.partitions.length === 271 && table.partitions.every((p) => p.owner !== null && ids.includes(p.owner));
}

describe('a restarted member whose seeds name only itself', () => {
  it('rejoins its cluster: never forms, never answers 404 for an existing key, /health 503 until joined', async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-restart-'));
    const addresses = await Promise.all(NAMES.map(async () => `127.0.0.1:${await freeClusterPort('127.0.0.1')}`));
    const nodes: { process: NodeProcess; url: string }[] = [];
    for (const [i, name] of NAMES.entries()) nodes.push(await launch(name, addresses[i]!, addresses[0]!));
    const [first, second] = nodes;
    await pollUntil(async () => (await Promise.all(nodes.map((n) => settledOn(n.url, NAMES)))).every(Boolean), 'a settled cluster of three', SETTLE_MS);
    for (let i = 0; i < KEY_COUNT; i++) {
      const answer = await adminCall(nodes[i % 2]!.url, 'PUT', `/kv/key-${i}`, { i });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    // r3's record names the two others before it dies.
    const recordPath = join(root, 'r3', MEMBERSHIP_RECORD_FILE);
    await pollUntil(async () => (JSON.parse(await readFile(recordPath, 'utf8')) as { addresses: string[] }).addresses.length === 2, 'r3 recorded its peers', SETTLE_MS);

    nodes[2]!.process.proc.child.kill('SIGKILL');
    await nodes[2]!.process.proc.exited;
    await pollUntil(async () => (await settledOn(first!.url, ['r1', 'r2'])) && (await settledOn(second!.url, ['r1', 'r2'])), 'failover to r1 and r2', SETTLE_MS);

    // The restart: `--seeds` names only itself; its data directory remembers the others.
    const restarted = startNodeProcess({ name: 'r3', address: addresses[2]!, seed: addresses[2]!, secret: SECRET, dataDir: join(root, 'r3') });
    processes.push(restarted);
    let url = '';
    await pollUntil(() => (url = adminUrlOf(restarted) ?? '') !== '', "the restarted r3's admin API", SETTLE_MS, () => restarted.proc.stderr.join('\n'));

    // From its first answer on: /health and reads of existing keys, until it is settled in the three.
    const healthSeen: number[] = [];
    const readsSeen = new Map<number, number>();
    let healthyBeforeJoined = false;
    let next = 0;
    await pollUntil(
      async () => {
        const health = await adminCall(url, 'GET', '/health');
        healthSeen.push(health.status);
        const members = await get<MembersReport>(url, '/cluster/members');
        const joined = members.members.filter((m) => m.state === 'alive').length === 3;
        if (health.status === 200 && !joined) healthyBeforeJoined = true;
        if (health.status === 503) expect(health.body).toMatchObject({ status: 'joining', reason: expect.stringContaining('not joined yet') });
        for (let k = 0; k < 10; k++, next = (next + 1) % KEY_COUNT) {
          const read = await adminCall(url, 'GET', `/kv/key-${next}`);
          readsSeen.set(read.status, (readsSeen.get(read.status) ?? 0) + 1);
        }
        return joined && (await settledOn(url, NAMES));
      },
      'the restarted r3 settled in the cluster of three',
      SETTLE_MS,
      () => `health ${healthSeen.join()}; reads ${JSON.stringify([...readsSeen])}`,
      20,
    );
    expect(readsSeen.get(404) ?? 0).toBe(0);
    expect(healthyBeforeJoined).toBe(false);
    const logs = jsonLines(restarted.proc.stdout);
    expect(logs.filter((l) => l.event === 'JoinCompleted').map((l) => l.formed)).toEqual([false]);
    expect(logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('former member'))).toBe(true);
    // Every key is there, read through the restarted node.
    for (let i = 0; i < KEY_COUNT; i++) expect(await adminCall(url, 'GET', `/kv/key-${i}`)).toEqual({ status: 200, body: { key: `key-${i}`, value: { i } } });
  }, 180_000);

  it('with every peer gone: 503 joining while it tries, exit 1 with FLO_REJOIN_NO_PEERS; --force-form forms', async () => {
    for (const p of processes) p.proc.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.proc.exited));
    const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
    const lonely = startNodeProcess({ name: 'r3', address, seed: address, secret: SECRET, dataDir: join(root, 'r3') });
    processes.push(lonely);
    let url = '';
    await pollUntil(() => (url = adminUrlOf(lonely) ?? '') !== '', "r3's admin API", SETTLE_MS, () => lonely.proc.stderr.join('\n'));
    const health = await adminCall(url, 'GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'joining', reason: expect.stringContaining('does not form a new cluster') });
    expect(await lonely.proc.exited).toBe(1);
    expect(lonely.proc.stderr.join('\n')).toContain('A former member reached none of its seeds or last-known peers');
    expect(jsonLines(lonely.proc.stdout).filter((l) => l.event === 'JoinCompleted')).toEqual([]);

    const forced = startNodeProcess({ name: 'r3', address, seed: address, secret: SECRET, dataDir: join(root, 'r3'), extraArgs: ['--force-form'] });
    processes.push(forced);
    await pollUntil(() => (url = adminUrlOf(forced) ?? '') !== '', "the forced r3's admin API", SETTLE_MS, () => forced.proc.stderr.join('\n'));
    await pollUntil(async () => (await adminCall(url, 'GET', '/health')).status === 200, 'the forced r3 serving', SETTLE_MS);
    expect(jsonLines(forced.proc.stdout).filter((l) => l.event === 'JoinCompleted').map((l) => l.formed)).toEqual([true]);
  }, 120_000);
});
