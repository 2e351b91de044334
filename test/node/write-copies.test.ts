// `kv.writeCopiesMin` on real nodes over loopback sockets: a node alone cannot give a write
// a second copy, so it refuses it (retryable, nothing stored; routing gives up at the call's
// deadline and names the refusal, and the client gateway answers a client's op with the
// refusal itself) rather than acknowledging a write that lives on one node; once a second
// node joined and every partition lists its backup, writes are acknowledged and held by
// both. The settings that can never be met are refused when the node is configured.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startClientGateway } from '../../src/gateway/client-gateway.js';
import { encodeValue } from '../../src/grid/kv-codec.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { partitionOf } from '../../src/core/partition.js';
import { resolveNodeConfig } from '../../src/node/index.js';
import { nodeOptions, waitFor } from './helpers.js';
import { FAST_PARTITIONS, startPartitionNode, stopNodes, tableProblem, type PartitionNode, type ShardingTestOptions } from './partition-harness.js';

const TWO_COPIES: ShardingTestOptions = {
  ...FAST_PARTITIONS,
  routing: { ...FAST_PARTITIONS.routing, opTimeoutMs: 1_500, attemptTimeoutMs: 500 },
  kv: { ...FAST_PARTITIONS.kv, writeCopiesMin: 2 },
};

const JWT_SECRET = 'write-copies-test-secret-0123456789abcdef';

/** Authenticate to the gateway at `url`, send `frame`, and return what came back within a second and a half. */
async function exchange(url: string, frame: ClientFrame): Promise<ServerFrame[]> {
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('t').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
  const ws = new WebSocket(url);
  const frames: ServerFrame[] = [];
  ws.on('message', (data: Buffer) => {
    const f = decodeServerFrame(new Uint8Array(data), 1 << 24);
    if (f.type === 'RESULTS') for (const r of f.results) frames.push({ type: 'RESULT', ...r });
    else frames.push(f);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(encodeClientFrame({ type: 'AUTH', token }));
    await waitFor(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK', 10_000);
    ws.send(encodeClientFrame(frame));
    await waitFor(() => frames.some((f) => (f.type === 'RESULT' || f.type === 'ERROR') && f.id !== 0), 'an answer', 1_500);
    return frames;
  } finally {
    ws.terminate();
  }
}

let nodes: PartitionNode[] = [];
afterEach(async () => {
  await stopNodes(nodes);
  nodes = [];
});

describe('kv.writeCopiesMin on a cluster', () => {
  it('a node alone refuses writes with FLO_TOO_FEW_COPIES; with a backup in place both hold every write', async () => {
    const first = await startPartitionNode('w1', [], TWO_COPIES);
    nodes.push(first);
    await waitFor(() => first.service.table() !== undefined, 'a table', 10_000);
    const map = first.node.getMap<number>('m');
    // Routing retries the refusal until the call's deadline, then names it; nothing may have run.
    const refused = await map.set('k', 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'FLO_TIMEOUT', details: { lastError: 'FLO_TOO_FEW_COPIES' } });
    expect((refused as { details: Record<string, unknown> }).details.outcomeUnknown).toBeUndefined();
    expect(first.service.store.size()).toBe(0);

    nodes.push(await startPartitionNode('w2', [first.node.address], TWO_COPIES));
    await waitFor(() => tableProblem(nodes) === undefined, 'every partition with its backup', 30_000);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    for (const [i, key] of keys.entries()) await map.set(key, i);
    for (const key of keys) {
      const p = partitionOf(key, 271);
      for (const n of nodes) expect(n.service.store.get(p, key, 'm'), `${key} on ${n.id}`).toBeDefined();
    }
  }, 60_000);

  it('a client of the gateway hears FLO_TOO_FEW_COPIES within the gateway\'s op timeout, not a timeout of its own', async () => {
    const first = await startPartitionNode('w1', [], TWO_COPIES);
    nodes.push(first);
    await waitFor(() => first.service.table() !== undefined, 'a table', 10_000);
    const kv = (first.node as RunningNode).kvService!;
    const gateway = await startClientGateway({ node: first.node, maps: kv, valueBytesMax: kv.config.valueBytesMax, auth: { secret: JWT_SECRET }, opTimeoutMs: 300 });
    try {
      const frames = await exchange(gateway.url, { type: 'OP', op: { id: 1, map: 'm', op: 'put', key: 'k', value: encodeValue(1), forward: false } });
      const answer = frames.find((f) => f.type === 'ERROR' && f.id === 1);
      expect(answer).toMatchObject({ type: 'ERROR', code: 'FLO_TOO_FEW_COPIES' });
      expect((answer as { message: string }).message).toMatch(/^Write refused: the partition has fewer backups than kv.writeCopiesMin asks: partition \d+ has 1 live copy/);
      expect(gateway.stats().ops).toEqual({ ok: 0, FLO_TOO_FEW_COPIES: 1 });
    } finally {
      await gateway.close();
    }
  }, 60_000);

  it.each([
    ['more copies than one backup allows', { kv: { writeCopiesMin: 3 }, partitions: { backupCount: 1 } }],
    ['two copies with no backups at all', { kv: { writeCopiesMin: 2 }, partitions: { backupCount: 0 } }],
    ['two copies in async backup mode', { kv: { writeCopiesMin: 2, backupMode: 'async' as const }, partitions: {} }],
    ['zero copies', { kv: { writeCopiesMin: 0 }, partitions: {} }],
  ])('refuses %s with FLO_CONFIG_INVALID', (_what, options) => {
    expect(() => resolveNodeConfig(nodeOptions(options))).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });

  it('takes two copies with one backup', () => {
    expect(resolveNodeConfig(nodeOptions({ kv: { writeCopiesMin: 2 }, partitions: {} })).kv.writeCopiesMin).toBe(2);
  });
});
