// The client end to end against real `flotilla start` processes: three nodes on
// OS-assigned ports, each serving clients (--client 127.0.0.1:0, FLOTILLA_JWT_SECRET); a
// cluster-mode client with all three seeds, a memory adapter and a JWT writes key-1, the
// owner's own map holds it; the owner is shut down (SIGTERM) or killed (kill -9), the
// next write lands on the survivors, and the client's stats show a live routing table.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FlotillaClient } from '../../src/client-platform/index.js';
import { decodeValue } from '../../src/protocol/map-values.js';
import { decodeServerFrame, encodeClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { pollUntil, type NodeProcess } from './cli-process.js';
import { clientToken as token, clusterClient, gatewayUrlOf, killNodes, ownerName, startClientCluster } from './client-cluster.js';

let nodes: NodeProcess[] = [];
let clients: FlotillaClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await killNodes(nodes);
  nodes = [];
  clients = [];
});

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
    // A client's get answers [value, millis, counter, node] (nil when the key never existed there).
    const read = answer.type === 'RESULT' && answer.payload !== null ? (decodeValue(answer.payload) as [Uint8Array | null, number, number, string] | null) : null;
    return read?.[0] == null ? undefined : decodeValue(read[0]);
  } finally {
    ws.terminate();
  }
}

async function scenario(stopOwner: (owner: NodeProcess) => void): Promise<void> {
  nodes = await startClientCluster(3, 'c');
  const client = await clusterClient(nodes);
  clients.push(client);
  const map = client.getMap<{ value: number }>('e2e');

  await map.set('key-1', { value: 1 });
  const ownerId = (await ownerName(nodes[0]!, 'key-1'))!;
  const ownerNode = nodes.find((n) => n.name === ownerId)!;
  expect(await readOwnMap(ownerNode, 'e2e', 'key-1')).toEqual({ value: 1 });

  stopOwner(ownerNode);
  const survivors = nodes.filter((n) => n !== ownerNode);
  await map.set('key-1', { value: 2 });

  // The survivors hold it: the partition's new owner (one of them) in its own map.
  await pollUntil(async () => (await ownerName(survivors[0]!, 'key-1')) !== ownerId, 'a survivor owns the partition', 60_000);
  const newOwnerId = (await ownerName(survivors[0]!, 'key-1'))!;
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
