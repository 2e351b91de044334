// Rotating the cluster secret without downtime, over real `flotilla start` processes: a
// three-node cluster on secret A is rolled one node at a time, three times (A plus B
// accepted; then B plus A accepted; then B alone). After every restart the cluster is
// three alive members again with one full partition table, the nodes that stayed up
// never saw each other fail, and the keys written before the rotation still read back.
// At the end a node holding only A is refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport, PartitionsReport } from '../../src/gateway/admin-source.js';
import { adminCall, adminUrlOf, jsonLines, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET_A = randomSecret();
const SECRET_B = randomSecret();
/** How long a step may take to settle on a loaded machine. */
const SETTLE_MS = 60_000;
const NAMES = ['r1', 'r2', 'r3'] as const;
const KEYS = 50;
/**
 * Failure detection a little slower than FAST_SWIM: this test asserts that no member is
 * ever declared failed, which must not depend on how loaded the host is.
 */
const TOLERANT_SWIM = 'probeIntervalMs=500,probeTimeoutMs=250,gossipIntervalMs=100,suspicionMult=6,joinBackoffInitialMs=50,joinBackoffMaxMs=500,leaveTimeoutMs=2000';

const processes: NodeProcess[] = [];
let root = '';

afterAll(async () => {
  for (const p of processes) p.proc.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.proc.exited));
  if (root !== '') await rm(root, { recursive: true, force: true });
});

interface Running {
  process: NodeProcess;
  url: string;
}

async function launch(name: string, address: string, seed: string, secret: string, previous?: string): Promise<Running> {
  const process = startNodeProcess({ name, address, seed, secret, dataDir: join(root, name), swim: TOLERANT_SWIM, env: previous === undefined ? {} : { FLOTILLA_SECRET_PREVIOUS: previous } });
  processes.push(process);
  let url = '';
  await pollUntil(() => (url = adminUrlOf(process) ?? '') !== '', `${name}'s admin API`, SETTLE_MS, () => process.proc.stdout.slice(-10).join('\n'));
  return { process, url };
}

async function get<T>(url: string, path: string): Promise<T> {
  const answer = await adminCall(url, 'GET', path);
  if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

/** True when the node at `url` sees all three alive and a full table owned among them. */
async function settled(url: string): Promise<boolean> {
  const members = await get<MembersReport>(url, '/cluster/members');
  const alive = members.members.filter((m) => m.state === 'alive').map((m) => m.nodeId).sort();
  if (alive.join() !== NAMES.join()) return false;
  const table = await get<PartitionsReport>(url, '/cluster/partitions');
  return table.partitions.length === 271 && table.partitions.every((p) => p.owner !== null);
}

/** Log lines in which `node` refused a peer for its secret (handshake or datagram tag). */
function authRefusals(node: NodeProcess): number {
  return jsonLines(node.proc.stdout).filter((l) => l.code === 'auth').length;
}

/** Members other than `except` that `node` logged as failed so far. */
function failuresSeenBy(node: NodeProcess, except: string): string[] {
  return jsonLines(node.proc.stdout)
    .filter((l) => l.msg === 'member failed' && l.member !== except)
    .map((l) => String(l.member));
}

describe('rotating the cluster secret', () => {
  it('rolls a 3-node cluster from secret A to B one node at a time without losing membership', async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-rotation-'));
    const addresses = await Promise.all(NAMES.map(async () => `127.0.0.1:${await freeClusterPort('127.0.0.1')}`));
    const nodes: Running[] = [];
    for (const [i, name] of NAMES.entries()) nodes.push(await launch(name, addresses[i]!, addresses[0]!, SECRET_A));
    await pollUntil(async () => (await Promise.all(nodes.map((n) => settled(n.url)))).every(Boolean), 'three nodes on secret A', SETTLE_MS);
    for (let k = 0; k < KEYS; k++) expect((await adminCall(nodes[k % 3]!.url, 'PUT', `/kv/rot-${k}`, `v${k}`)).status).toBe(200);

    const steps: { secret: string; previous?: string; what: string }[] = [
      { secret: SECRET_A, previous: SECRET_B, what: 'A, accepting B' },
      { secret: SECRET_B, previous: SECRET_A, what: 'B, accepting A' },
      { secret: SECRET_B, what: 'B alone' },
    ];
    for (const step of steps) {
      for (const [i, name] of NAMES.entries()) {
        const old = nodes[i]!;
        old.process.proc.child.kill('SIGTERM'); // graceful leave, then back with the new secrets
        expect(await old.process.proc.exited).toBe(0);
        const others = nodes.filter((_, j) => j !== i);
        const failedBefore = others.map((n) => failuresSeenBy(n.process, name).length);
        nodes[i] = await launch(name, addresses[i]!, addresses[(i + 1) % 3]!, step.secret, step.previous);
        await pollUntil(async () => (await Promise.all(nodes.map((n) => settled(n.url)))).every(Boolean), `${name} back on ${step.what}`, SETTLE_MS, () =>
          nodes[i]!.process.proc.stdout.slice(-8).join('\n'),
        );
        // The nodes that stayed up never saw each other fail while one of them rolled (the
        // rolling node itself may be declared failed before its leave arrives on a loaded host).
        expect(others.map((n) => failuresSeenBy(n.process, name).length), `${name} on ${step.what}`).toEqual(failedBefore);
        // And no node ever refused another for its secret.
        expect(nodes.map((n) => authRefusals(n.process)), `${name} on ${step.what}`).toEqual([0, 0, 0]);
      }
    }
    for (let k = 0; k < KEYS; k++) expect((await adminCall(nodes[(k + 1) % 3]!.url, 'GET', `/kv/rot-${k}`)).body).toMatchObject({ key: `rot-${k}`, value: `v${k}` });

    // The cluster now runs on B alone: a node that only knows A is refused.
    const stale = startNodeProcess({ name: 'stale', address: `127.0.0.1:${await freeClusterPort('127.0.0.1')}`, seed: addresses[0]!, secret: SECRET_A, dataDir: join(root, 'stale') });
    processes.push(stale);
    expect(await stale.proc.exited).not.toBe(0);
    const members = await get<MembersReport>(nodes[0]!.url, '/cluster/members');
    expect(members.members.map((m) => m.nodeId)).not.toContain('stale');
    // ...and the refusal shows in the logs the rotation steps were checked against.
    await pollUntil(() => nodes.some((n) => authRefusals(n.process) > 0), 'a logged refusal of the stale node', SETTLE_MS);
  }, 900_000);
});
