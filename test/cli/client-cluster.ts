// Clusters of `flotilla start` processes that serve smart clients (`--client`, HS256 JWT),
// for the client's end-to-end and Jepsen-style tests.
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { FlotillaClient, MemoryStorageAdapter, partitionOf, type SocketConstructor } from '../../src/client-platform/index.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import { adminCall, adminUrlOf, jsonLines, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

export const JWT_SECRET = randomSecret();
const SECRET = randomSecret();
export const Socket = WebSocket as unknown as SocketConstructor;

/** A fresh client token, valid for an hour. */
export function clientToken(): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('test').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}

/** The URL a node's gateway logged once listening. */
export function gatewayUrlOf(node: NodeProcess): string | undefined {
  const line = jsonLines(node.proc.stdout).find((l) => l.msg === 'client gateway listening');
  return typeof line?.url === 'string' ? line.url : undefined;
}

interface PartitionRow {
  readonly partition: number;
  readonly owner: string | null;
  readonly backups: readonly string[];
}

/** The partition table `from` reports, or undefined when it does not answer. */
export async function partitionsOf(from: NodeProcess): Promise<PartitionRow[] | undefined> {
  try {
    const answer = await adminCall(adminUrlOf(from)!, 'GET', '/cluster/partitions', undefined, 3_000);
    const rows = (answer.body as { partitions?: PartitionRow[] }).partitions;
    return answer.status === 200 ? rows : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until every live node reports all 271 partitions owned by live nodes, each with one live backup. */
export async function waitForFullTable(live: readonly NodeProcess[], timeoutMs = 60_000): Promise<void> {
  const names = new Set(live.map((n) => n.name));
  await pollUntil(async () => {
    for (const node of live) {
      const rows = await partitionsOf(node);
      if (rows?.length !== 271) return false;
      if (!rows.every((p) => p.owner !== null && names.has(p.owner) && p.backups.length === 1 && names.has(p.backups[0]!))) return false;
    }
    return true;
  }, `every partition served by ${[...names].join(', ')} with one backup`, timeoutMs);
}

/** Starts one node serving clients, joining through `seed` (its own address: form the cluster). */
export function startClientNode(name: string, address: string, seed: string, extraArgs: readonly string[] = []): NodeProcess {
  return startNodeProcess({ name, address, seed, secret: SECRET, extraArgs: ['--client', '127.0.0.1:0', ...extraArgs], env: { FLOTILLA_JWT_SECRET: JWT_SECRET } });
}

/** A free cluster address on loopback. */
export async function freeAddress(): Promise<string> {
  return `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
}

/** Starts `count` nodes serving clients and waits for a balanced table with one backup everywhere. */
export async function startClientCluster(count: number, prefix: string): Promise<NodeProcess[]> {
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(await freeAddress());
  const nodes = addresses.map((address, i) => startClientNode(`${prefix}${i + 1}`, address, addresses[0]!));
  await pollUntil(() => nodes.every((n) => adminUrlOf(n) !== undefined && gatewayUrlOf(n) !== undefined), 'every node serving admin and clients', 60_000);
  await waitForFullTable(nodes);
  return nodes;
}

/** The node id owning `key`'s partition, as `from` reports it. */
export async function ownerName(from: NodeProcess, key: string): Promise<string | undefined> {
  return (await partitionsOf(from))?.find((p) => p.partition === partitionOf(key))?.owner ?? undefined;
}

/** A cluster-mode client of `nodes`, with a memory adapter and a token. */
export async function clusterClient(nodes: readonly NodeProcess[]): Promise<FlotillaClient> {
  return new FlotillaClient({ cluster: { seeds: nodes.map((n) => gatewayUrlOf(n)!) }, storage: new MemoryStorageAdapter(), authToken: await clientToken(), WebSocket: Socket });
}

/** Kills what is still running and waits for every process to end. */
export async function killNodes(nodes: readonly NodeProcess[]): Promise<void> {
  for (const n of nodes) if (n.proc.child.exitCode === null && n.proc.child.signalCode === null) n.proc.child.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.proc.exited));
}
