import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { partitionOf } from '../../src/core/partition.js';
import { decodeValue, encodeValue } from '../../src/grid/kv-codec.js';
import { startClientGateway, type ClientGateway } from '../../src/gateway/client-gateway.js';
import { buildClientMap, mapSignature } from '../../src/gateway/client-map.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ClientOp, type ServerFrame } from '../../src/protocol/client-frames.js';
import { serveAdmin } from '../../src/cli/serve-admin.js';
import { waitFor } from '../node/helpers.js';
import { parseExposition, value } from './exposition.js';
import { TEST_ADMIN_TOKEN } from './http-helpers.js';
import { startPartitionCluster, stopNodes, tableProblem, type PartitionNode } from '../node/partition-harness.js';

const SECRET = 'gateway-test-secret-0123456789abcdef0123';
const key = new TextEncoder().encode(SECRET);

function token(expiresIn: string | number = '1h', secret: Uint8Array = key): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('tester').setIssuedAt().setExpirationTime(expiresIn).sign(secret);
}

/** A raw test connection: every frame received, and the close code. */
class Conn {
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data), 1 << 24);
      // A RESULTS frame carries several RESULTs: the tests look for each.
      if (frame.type === 'RESULTS') for (const r of frame.results) this.frames.push({ type: 'RESULT', ...r });
      else this.frames.push(frame);
    });
    this.ws.on('close', (code) => (this.closeCode = code));
    this.ws.on('error', () => undefined);
  }
  send(frame: ClientFrame): void {
    this.ws.send(encodeClientFrame(frame));
  }
  async next<T extends ServerFrame['type']>(type: T, match: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true): Promise<Extract<ServerFrame, { type: T }>> {
    let found: Extract<ServerFrame, { type: T }> | undefined;
    await waitFor(() => {
      found = this.frames.find((f): f is Extract<ServerFrame, { type: T }> => f.type === type && match(f as Extract<ServerFrame, { type: T }>));
      return found !== undefined;
    }, `a ${type} frame`, 15_000);
    return found!;
  }
}

let nodes: PartitionNode[] = [];
let gateways: ClientGateway[] = [];
let conns: Conn[] = [];
afterEach(async () => {
  for (const c of conns) c.ws.terminate();
  await Promise.all(gateways.map((g) => g.close()));
  await stopNodes(nodes);
  nodes = [];
  gateways = [];
  conns = [];
});

async function cluster(count: number): Promise<void> {
  nodes = await startPartitionCluster(count);
  await waitFor(() => tableProblem(nodes, count > 1 ? 1 : 0) === undefined, 'one complete table everywhere', 20_000);
  for (const n of nodes) {
    const kv = (n.node as RunningNode).kvService!;
    gateways.push(await startClientGateway({ node: n.node, maps: kv, valueBytesMax: kv.config.valueBytesMax, auth: { secret: SECRET }, authTimeoutMs: 3_000 }));
  }
}

function connect(i = 0): Conn {
  const c = new Conn(gateways[i]!.url);
  conns.push(c);
  return c;
}

const op = (fields: Partial<ClientOp> & Pick<ClientOp, 'id' | 'op'>): ClientOp => ({ map: 'm', key: null, value: null, forward: false, ...fields });

describe('client gateway: authentication', () => {
  it('asks for AUTH, refuses any other frame first and closes the socket', async () => {
    await cluster(1);
    const c = connect();
    await c.next('AUTH_REQUIRED');
    c.send({ type: 'MAP_REQUEST', version: 0 });
    expect((await c.next('AUTH_FAIL')).code).toBe('FLO_AUTH_FAILED');
    await waitFor(() => c.closeCode === 4001, 'the socket closed', 10_000);
  }, 60_000);

  it.each([
    ['a token signed with another secret', () => token('1h', new TextEncoder().encode('another-secret-0123456789abcdef012345')), 'FLO_AUTH_FAILED'],
    ['an expired token', () => token(Math.floor(Date.now() / 1000) - 60), 'FLO_TOKEN_EXPIRED'],
    ['garbage', () => Promise.resolve('not.a.jwt'), 'FLO_AUTH_FAILED'],
  ])('refuses %s', async (_name, make, code) => {
    await cluster(1);
    const c = connect();
    await c.next('AUTH_REQUIRED');
    c.send({ type: 'AUTH', token: await make() });
    expect((await c.next('AUTH_FAIL')).code).toBe(code);
    await waitFor(() => c.closeCode === 4001, 'the socket closed', 10_000);
    expect(gateways[0]!.stats().authFailures).toEqual({ [code]: 1 });
  }, 60_000);

  it('closes a connection that never authenticates', async () => {
    await cluster(1);
    const c = connect();
    await waitFor(() => c.closeCode === 4001, 'the auth timeout closed the socket', 15_000);
  }, 60_000);

  it('closes the socket when the token expires, unless a fresh AUTH extended it', async () => {
    await cluster(1);
    const expiring = connect();
    const extended = connect();
    const soon = Math.floor(Date.now() / 1000) + 2;
    for (const c of [expiring, extended]) {
      await c.next('AUTH_REQUIRED');
      c.send({ type: 'AUTH', token: await token(soon) });
      await c.next('AUTH_ACK');
    }
    extended.send({ type: 'AUTH', token: await token('1h') });
    await waitFor(() => extended.frames.filter((f) => f.type === 'AUTH_ACK').length === 2, 'a second AUTH_ACK', 10_000);
    await waitFor(() => expiring.closeCode === 4002, 'the expiring connection closed', 15_000);
    expect(expiring.frames.some((f) => f.type === 'AUTH_FAIL' && f.code === 'FLO_TOKEN_EXPIRED')).toBe(true);
    extended.send({ type: 'OP', op: op({ id: 1, op: 'size' }) });
    await extended.next('RESULT', (f) => f.id === 1);
    expect(extended.closeCode).toBeUndefined();
  }, 60_000);
});

describe('client gateway: maps', () => {
  it('pushes the partition map with client URLs, runs ops, answers NOT_OWNER with the owner hint, forwards when asked', async () => {
    await cluster(3);
    const c = connect(0);
    await c.next('AUTH_REQUIRED');
    c.send({ type: 'AUTH', token: await token() });
    await c.next('AUTH_ACK');
    const { map } = await c.next('PARTITION_MAP', (f) => f.map.nodes.length === 3);
    expect(map.partitionCount).toBe(271);
    expect(map.writable).toBe(true);
    expect(map.owners.every((o) => o >= 0)).toBe(true);
    expect(new Set(map.nodes.map((n) => n.url))).toEqual(new Set(gateways.map((g) => g.url)));

    const self = nodes[0]!.id;
    const owned = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const mine = owned.find((k) => map.nodes[map.owners[partitionOf(k)]!]!.nodeId === self)!;
    const theirs = owned.find((k) => map.nodes[map.owners[partitionOf(k)]!]!.nodeId !== self)!;
    c.send({ type: 'BATCH', ops: [op({ id: 1, op: 'put', key: mine, value: encodeValue({ value: 1 }) }), op({ id: 2, op: 'get', key: mine })] });
    // A put answers the version it was stored at: [nil, millis, counter, node], in the batch's RESULTS too.
    const written = decodeValue((await c.next('RESULT', (f) => f.id === 1)).payload!) as [null, number, number, string];
    c.send({ type: 'OP', op: op({ id: 3, op: 'get', key: mine }) });
    // A client's get answers the value with its version: [value, millis, counter, node].
    const [value, millis, counter, writer] = decodeValue((await c.next('RESULT', (f) => f.id === 3)).payload!) as [Uint8Array, number, number, string];
    expect(decodeValue(value)).toEqual({ value: 1 });
    expect([millis > 0, counter >= 0, writer]).toEqual([true, true, self]);
    expect(written).toEqual([null, millis, counter, writer]);

    c.send({ type: 'OP', op: op({ id: 4, op: 'put', key: theirs, value: encodeValue(2) }) });
    const refused = await c.next('ERROR', (f) => f.id === 4);
    expect(refused.code).toBe('FLO_NOT_OWNER');
    expect(refused.owner).toEqual(map.nodes[map.owners[partitionOf(theirs)]!]);
    c.send({ type: 'OP', op: op({ id: 5, op: 'put', key: theirs, value: encodeValue(2), forward: true }) });
    // Forwarded, the owner's version still comes back.
    const forwarded = decodeValue((await c.next('RESULT', (f) => f.id === 5)).payload!) as [null, number, number, string];
    expect(forwarded[3]).toBe(map.nodes[map.owners[partitionOf(theirs)]!]!.nodeId);
    expect(await nodes[1]!.node.getMap('m').get(theirs)).toBe(2);

    c.send({ type: 'OP', op: op({ id: 6, op: 'size' }) });
    expect(decodeValue((await c.next('RESULT', (f) => f.id === 6)).payload!)).toBe(2);
    c.send({ type: 'OP', op: op({ id: 7, op: 'delete', key: mine }) });
    const deleted = decodeValue((await c.next('RESULT', (f) => f.id === 7)).payload!) as [boolean, number, number, string];
    expect(deleted[0]).toBe(true);
    expect(deleted[1] * 65_536 + deleted[2]).toBeGreaterThan(millis * 65_536 + counter);
    expect(await nodes[2]!.node.getMap('m').get(mine)).toBeUndefined();
  }, 90_000);

  it('answers malformed frames and bad values with a coded ERROR and keeps the connection', async () => {
    await cluster(1);
    const c = connect();
    await c.next('AUTH_REQUIRED');
    c.send({ type: 'AUTH', token: await token() });
    await c.next('AUTH_ACK');
    c.ws.send(new Uint8Array([0x93, 0x02, 0xc1, 0x00]));
    expect((await c.next('ERROR', (f) => f.id === 0)).code).toMatch(/^FLO_DECODE_/);
    c.send({ type: 'OP', op: op({ id: 9, op: 'put', key: 'k', value: new Uint8Array([0xc1]) }) });
    expect((await c.next('ERROR', (f) => f.id === 9)).code).toBe('FLO_INVALID_ARGUMENT');
    c.send({ type: 'OP', op: op({ id: 10, op: 'get', key: 'k' }) });
    // Never written here: no version either.
    expect(decodeValue((await c.next('RESULT', (f) => f.id === 10)).payload!)).toBeNull();
    expect(c.closeCode).toBeUndefined();
    expect(gateways[0]!.stats()).toEqual({ connections: 1, authenticated: 1, ops: { ok: 1, FLO_INVALID_ARGUMENT: 1 }, authFailures: {}, framesRefused: 1 });
    // The admin API of the same node exports them.
    const admin = await serveAdmin(nodes[0]!.node, { token: TEST_ADMIN_TOKEN, host: '127.0.0.1', port: 0, clients: gateways[0]! });
    try {
      const exp = parseExposition(await (await fetch(`http://127.0.0.1:${admin.address().port}/metrics`)).text());
      expect(value(exp, 'flotilla_client_connections', { state: 'authenticated' })).toBe(1);
      expect(value(exp, 'flotilla_client_connections', { state: 'authenticating' })).toBe(0);
      expect(value(exp, 'flotilla_client_ops_total', { outcome: 'ok' })).toBe(1);
      expect(value(exp, 'flotilla_client_ops_total', { outcome: 'FLO_INVALID_ARGUMENT' })).toBe(1);
      expect(value(exp, 'flotilla_client_frames_refused_total')).toBe(1);
    } finally {
      await admin.close();
    }
  }, 60_000);

  it('sends EVENTs of owner writes to matching subscriptions, and bounds subscriptions per connection', async () => {
    await cluster(1);
    const c = connect();
    await c.next('AUTH_REQUIRED');
    c.send({ type: 'AUTH', token: await token() });
    await c.next('AUTH_ACK');
    c.send({ type: 'SUBSCRIBE', sub: { id: 100, map: 'm', key: null, prefix: 'p-' } });
    await c.next('RESULT', (f) => f.id === 100);
    await nodes[0]!.node.getMap('m').set('p-1', 'x');
    await nodes[0]!.node.getMap('m').set('q-1', 'y');
    await nodes[0]!.node.getMap('m').delete('p-1');
    await waitFor(() => c.frames.filter((f) => f.type === 'EVENT').length === 2, 'two events', 10_000);
    const events = c.frames.filter((f): f is Extract<ServerFrame, { type: 'EVENT' }> => f.type === 'EVENT');
    expect(events.map((e) => [e.id, e.key, e.value === null ? null : decodeValue(e.value)])).toEqual([[100, 'p-1', 'x'], [100, 'p-1', null]]);
    expect(events[1]!.version.millis).toBeGreaterThanOrEqual(events[0]!.version.millis);
    for (let i = 0; i < 256; i++) c.send({ type: 'SUBSCRIBE', sub: { id: 1000 + i, map: 'm', key: `k${i}`, prefix: null } });
    expect((await c.next('ERROR', (f) => f.code === 'FLO_QUEUE_FULL')).id).toBe(1255);
  }, 60_000);

  it('advertises the node`s cluster host when bound to every interface, and refuses a URL too long for the tags', async () => {
    nodes = await startPartitionCluster(1);
    const kv = (nodes[0]!.node as RunningNode).kvService!;
    const base = { node: nodes[0]!.node, maps: kv, valueBytesMax: kv.config.valueBytesMax, auth: { secret: SECRET } };
    const wide = await startClientGateway({ ...base, host: '0.0.0.0' });
    gateways.push(wide);
    expect(wide.url).toBe(`ws://127.0.0.1:${wide.address().port}`);
    await expect(startClientGateway({ ...base, advertiseUrl: `ws://${'x'.repeat(600)}` })).rejects.toMatchObject({ code: 'FLO_TAGS_TOO_LARGE' });
    // The refused gateway left the working one's URL in place.
    expect(nodes[0]!.node.nodesWithTag('clientUrl', wide.url).map((m) => m.nodeId)).toEqual([nodes[0]!.id]);
    await wide.close();
    expect(nodes[0]!.node.nodesWithTag('clientUrl', wide.url)).toEqual([]);
  }, 60_000);
});

describe('client gateway: the map`s writability', () => {
  it('carries the node`s quorum verdict, and a flip alone changes the signature (so the gateway pushes it)', () => {
    const member = { nodeId: 'a', address: '10.0.0.1:1', state: 'alive', incarnation: 1, tags: { clientUrl: 'ws://a:1' }, stateChangedAt: 0 } as const;
    const table = { version: 7, partitionCount: 2, assignments: [0, 1].map((partition) => ({ partition, owner: 'a', backups: [], epoch: 1 })) };
    const writable = buildClientMap(table, [member], true)!;
    const readOnly = buildClientMap(table, [member], false)!;
    expect(writable).toMatchObject({ version: 7, owners: [0, 0], writable: true });
    expect(readOnly).toEqual({ ...writable, writable: false });
    expect(mapSignature(readOnly)).not.toBe(mapSignature(writable));
    expect(mapSignature(buildClientMap(table, [member], true))).toBe(mapSignature(writable));
  });
});
