// The client end to end against real `flotilla start` processes: three nodes on
// OS-assigned ports, each serving clients (--client 127.0.0.1:0, FLOTILLA_JWT_SECRET); a
// cluster-mode client with all three seeds, a memory adapter and a JWT writes key-1, the
// owner's own map holds it; the owner is shut down (SIGTERM) or killed (kill -9), the
// next write lands on the survivors, and the client's stats show a live routing table.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FlotillaClient, MemoryStorageAdapter, partitionOf, type SocketConstructor } from '../../src/client-platform/index.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import { decodeValue } from '../../src/protocol/map-values.js';
import { decodeServerFrame, encodeClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { adminCall, adminUrlOf, jsonLines, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const JWT_SECRET = randomSecret();
const SECRET = randomSecret();
const Socket = WebSocket as unknown as SocketConstructor;

function token(): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('e2e').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}

function gatewayUrlOf(node: NodeProcess): string | undefined {
  const line = jsonLines(node.proc.stdout).find((l) => l.msg === 'client gateway listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

let nodes: NodeProcess[] = [];
let clients: FlotillaClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) if (n.proc.child.exitCode === null) n.proc.child.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.proc.exited));
  nodes = [];
  clients = [];
});

async function startCluster(): Promise<void> {
  const addresses: string[] = [];
  for (let i = 0; i < 3; i++) addresses.push(`127.0.0.1:${await freeClusterPort('127.0.0.1')}`);
  nodes = addresses.map((address, i) =>
    startNodeProcess({ name: `c${i + 1}`, address, seed: addresses[0]!, secret: SECRET, extraArgs: ['--client', '127.0.0.1:0'], env: { FLOTILLA_JWT_SECRET: JWT_SECRET } }),
  );
  await pollUntil(() => nodes.every((n) => adminUrlOf(n) !== undefined && gatewayUrlOf(n) !== undefined), 'every node serving admin and clients', 60_000);
  await pollUntil(async () => {
    const answer = await adminCall(adminUrlOf(nodes[0]!)!, 'GET', '/cluster/partitions');
    const body = answer.body as { partitions?: { owner?: string; backups?: string[] }[] };
    return answer.status === 200 && body.partitions?.length === 271 && new Set(body.partitions.map((p) => p.owner)).size === 3 && body.partitions.every((p) => (p.backups?.length ?? 0) === 1);
  }, 'a balanced table with one backup per partition', 60_000);
}

/** The node id owning `key`'s partition, as `from`'s admin API reports it. */
async function ownerName(from: NodeProcess, key: string): Promise<string> {
  const answer = await adminCall(adminUrlOf(from)!, 'GET', '/cluster/partitions');
  const body = answer.body as { partitions: { partition: number; owner: string }[] };
  return body.partitions.find((p) => p.partition === partitionOf(key))!.owner;
}

/**
 * Reads `key` from `node`'s own map: an unforwarded get, which only the partition's
 * owner answers from its local map (any other node answers NOT_OWNER).
 */
async function readOwnMap(node: NodeProcess, map: string, key: string): Promise<unknown> {
  const ws = new WebSocket(gatewayUrlOf(node)!);
  const frames: ServerFrame[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 24)));
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(encodeClientFrame({ type: 'AUTH', token: await token() }));
    await pollUntil(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK', 10_000);
    ws.send(encodeClientFrame({ type: 'OP', op: { id: 1, map, op: 'get', key, value: null, forward: false } }));
    await pollUntil(() => frames.some((f) => (f.type === 'RESULT' || f.type === 'ERROR') && f.id === 1), 'the answer', 10_000);
    const answer = frames.find((f) => (f.type === 'RESULT' || f.type === 'ERROR') && f.id === 1)!;
    if (answer.type === 'ERROR') throw new Error(`${node.name}: ${answer.code}`);
    return answer.type === 'RESULT' && answer.payload !== null ? decodeValue(answer.payload) : undefined;
  } finally {
    ws.terminate();
  }
}

async function scenario(stopOwner: (owner: NodeProcess) => void): Promise<void> {
  await startCluster();
  const client = new FlotillaClient({ cluster: { seeds: nodes.map((n) => gatewayUrlOf(n)!) }, storage: new MemoryStorageAdapter(), authToken: await token(), WebSocket: Socket });
  clients.push(client);
  const map = client.getMap<{ value: number }>('e2e');

  await map.set('key-1', { value: 1 });
  const ownerId = await ownerName(nodes[0]!, 'key-1');
  const ownerNode = nodes.find((n) => n.name === ownerId)!;
  expect(await readOwnMap(ownerNode, 'e2e', 'key-1')).toEqual({ value: 1 });

  stopOwner(ownerNode);
  const survivors = nodes.filter((n) => n !== ownerNode);
  await map.set('key-1', { value: 2 });

  // The survivors hold it: the partition's new owner (one of them) in its own map.
  await pollUntil(async () => (await ownerName(survivors[0]!, 'key-1')) !== ownerId, 'a survivor owns the partition', 60_000);
  const newOwnerId = await ownerName(survivors[0]!, 'key-1');
  expect(survivors.map((n) => n.name)).toContain(newOwnerId);
  expect(await readOwnMap(survivors.find((n) => n.name === newOwnerId)!, 'e2e', 'key-1')).toEqual({ value: 2 });
  expect(await map.get('key-1')).toEqual({ value: 2 });

  const stats = client.getClusterStats();
  expect(stats.mapVersion).toBeGreaterThanOrEqual(1);
  expect(stats.partitionCount).toBe(271);
  expect(client.isRoutingActive()).toBe(true);
}

describe('FlotillaClient against flotilla start processes', () => {
  it('survives the owner shutting down (SIGTERM)', () => scenario((owner) => owner.proc.child.kill('SIGTERM')), 180_000);
  it('survives the owner being killed (kill -9)', () => scenario((owner) => owner.proc.child.kill('SIGKILL')), 180_000);
});
