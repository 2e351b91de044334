import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/core/partition.js';
import { encodeOp } from '../../src/grid/map-ops.js';
import { encode } from '../../src/protocol/codec.js';
import { packBody } from '../../src/protocol/msgpack.js';
import { MAX_FORWARD_HOPS, PAYLOAD_BYTES_MAX } from '../../src/protocol/limits.js';
import type { Message, ServiceRequest, ServiceResponse } from '../../src/protocol/messages.js';
import { ClusterTransport } from '../../src/transport/transport.js';
import { deriveFrameAuthKey } from '../../src/transport/frame-auth.js';
import { SECRET, waitFor } from './helpers.js';
import { startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from './partition-harness.js';

let nodes: PartitionNode[] = [];
let client: ClusterTransport;

beforeAll(async () => {
  nodes = await startPartitionCluster(3);
  await waitFor(() => tableProblem(nodes) === undefined, 'a complete table on 3 nodes', 20_000);
  client = new ClusterTransport({ nodeId: 'raw-client', authKey: deriveFrameAuthKey(SECRET, 'flotilla') });
  await client.start();
  await nodes[0]!.service.kvPut('hello', 'world');
}, 60_000);

afterAll(async () => {
  await client.close();
  await stopNodes(nodes);
});

const p = partitionOf('hello');
const otherKey = ['a', 'b', 'c', 'd'].find((k) => partitionOf(k) !== p)!;

function owner(): PartitionNode {
  const id = nodes[0]!.service.table()!.assignments[p]!.owner;
  return nodes.find((n) => n.id === id)!;
}

function notOwner(): PartitionNode {
  const table = nodes[0]!.service.table()!;
  return nodes.find((n) => n.id !== table.assignments[p]!.owner && !table.assignments[p]!.backups.includes(n.id))!;
}

function req(fields: Partial<ServiceRequest>): ServiceRequest {
  return { type: 'ServiceRequest', service: 'kv', partition: p, opId: 'op-1', forward: false, payload: encodeOp({ op: 'get', map: 'default', key: 'hello' }), ...fields };
}

async function ask(to: PartitionNode, message: Message): Promise<ServiceResponse> {
  const reply = await client.request(to.node.address, message, 3_000);
  expect(reply.type).toBe('ServiceResponse');
  return reply as ServiceResponse;
}

describe('ServiceRequest handling on a node', () => {
  it('answers a read on the owner', async () => {
    const reply = await ask(owner(), req({}));
    expect(reply.ok).toBe(true);
    expect(reply.payload).toBeDefined();
  });

  it('answers NOT_OWNER with the owner and its table version elsewhere', async () => {
    const other = notOwner();
    const reply = await ask(other, req({}));
    expect(reply).toMatchObject({
      ok: false,
      errorCode: 'FLO_NOT_OWNER',
      owner: owner().id,
      ownerAddress: owner().node.address,
      tableVersion: other.service.table()!.version,
    });
  });

  it('forwards to the owner when asked and relays the answer', async () => {
    const reply = await ask(notOwner(), req({ forward: true }));
    expect(reply.ok).toBe(true);
    expect(reply.payload).toBeDefined();
  });

  it('stops forwarding after MAX_FORWARD_HOPS', async () => {
    const op = encode(req({ forward: true }));
    const spent = { type: 'OpForward', opId: 'op-1', partition: p, origin: 'raw-client', hops: MAX_FORWARD_HOPS, op } as const;
    expect(await ask(notOwner(), spent)).toMatchObject({ ok: false, errorCode: 'FLO_NOT_OWNER' });
    expect((await ask(notOwner(), { ...spent, hops: 1 })).ok).toBe(true);
  });

  it.each([
    ['garbage payload', req({ payload: new Uint8Array([0xc1, 0xff, 0x00]) })],
    ['empty payload', req({ payload: new Uint8Array(0) })],
    ['an unknown operation', req({ payload: new Uint8Array([0x91, 0x09]) })],
    ['a value over the KV limit', req({ payload: encodeOp({ op: 'put', map: 'default', key: 'hello', value: new Uint8Array(2 * 1024 * 1024) }) })],
    ['a key of another partition', req({ payload: encodeOp({ op: 'get', map: 'default', key: otherKey }) })],
    ['an unknown service', req({ service: 'nope' })],
    ['a partition out of range', req({ partition: 5_000 })],
    ['a malformed replication', req({ service: 'kv.replica', payload: new Uint8Array([0x90]) })],
    ['a malformed watch', req({ service: 'kv.watch', payload: new Uint8Array([0x90]) })],
    ['a watch of no partition', req({ service: 'kv.watch', payload: new Uint8Array(packBody(['default', null, null, [], 0])) })],
  ])('answers %s with a typed error and keeps serving', async (_what, message) => {
    const reply = await ask(owner(), message);
    expect(reply).toMatchObject({ ok: false, errorCode: 'FLO_INVALID_ARGUMENT' });
    expect((await ask(owner(), req({}))).ok).toBe(true);
  });

  it('answers garbage migration data and forwards with typed errors', async () => {
    const data = { type: 'MigrateData', migrationId: 'm-x', partition: p, service: 'kv', kind: 'chunk', seq: 0, payload: new Uint8Array([1, 2]), last: true } as const;
    expect(await ask(owner(), data)).toMatchObject({ ok: false, errorCode: 'FLO_NOT_FOUND' });
    const forward = { type: 'OpForward', opId: 'op-1', partition: p, origin: 'raw-client', hops: 1, op: new Uint8Array([0xf1, 0x01, 0x90]) } as const;
    expect(await ask(owner(), forward)).toMatchObject({ ok: false });
    expect(await nodes[1]!.service.kvGet('hello')).toBe('world');
  });

  it('refuses to build a request over the wire limit', () => {
    expect(() => encode(req({ payload: new Uint8Array(PAYLOAD_BYTES_MAX + 1) }))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('refuses oversized values and bad keys before sending', async () => {
    await expect(nodes[0]!.service.kvPut('big', new Uint8Array(2 * 1024 * 1024))).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    await expect(nodes[0]!.service.kvPut('', 1)).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    await expect(nodes[0]!.service.kvGet('x'.repeat(2_000))).rejects.toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
  });
});
