// The gateway's change events over a real socket: a resumable subscription gets a replay
// of the map state above its cursor before live events, with the owner's marks; and a
// connection that stops reading has its events dropped past `eventBufferBytesMax`, told
// once with EVENTS_DROPPED (FLO_EVENTS_DROPPED), instead of the node buffering them all.
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { partitionOf } from '../../src/core/partition.js';
import { decodeValue, encodeValue } from '../../src/grid/kv-codec.js';
import { startClientGateway, type ClientGateway } from '../../src/gateway/client-gateway.js';
import type { RunningNode } from '../../src/node/running-node.js';
import { decodeServerFrame, encodeClientFrame, type ClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { waitFor } from '../node/helpers.js';
import { FAST_PARTITIONS, startPartitionCluster, stopNodes, tableProblem, type PartitionNode, type ShardingTestOptions } from '../node/partition-harness.js';

const SECRET = 'gateway-events-secret-0123456789abcdef01';

let nodes: PartitionNode[] = [];
let gateway: ClientGateway | undefined;
let sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  await gateway?.close();
  await stopNodes(nodes);
  nodes = [];
  gateway = undefined;
  sockets = [];
});

async function start(eventBufferBytesMax?: number, kvConfig?: ShardingTestOptions['kv']): Promise<void> {
  nodes = await startPartitionCluster(1, kvConfig === undefined ? undefined : { ...FAST_PARTITIONS, kv: { ...FAST_PARTITIONS.kv, ...kvConfig } });
  await waitFor(() => tableProblem(nodes, 0) === undefined, 'a table', 20_000);
  const kv = (nodes[0]!.node as RunningNode).kvService!;
  gateway = await startClientGateway({ node: nodes[0]!.node, maps: kv, valueBytesMax: kv.config.valueBytesMax, auth: { secret: SECRET }, ...(eventBufferBytesMax === undefined ? {} : { eventBufferBytesMax }) });
}

/** An authenticated raw connection: every frame received, in order. */
async function connect(): Promise<{ ws: WebSocket; frames: ServerFrame[]; send(frame: ClientFrame): void }> {
  const ws = new WebSocket(gateway!.url);
  sockets.push(ws);
  const frames: ServerFrame[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 24)));
  ws.on('error', () => undefined);
  const send = (frame: ClientFrame): void => ws.send(encodeClientFrame(frame));
  await waitFor(() => frames.some((f) => f.type === 'AUTH_REQUIRED'), 'AUTH_REQUIRED', 10_000);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('t').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
  send({ type: 'AUTH', token });
  await waitFor(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK', 10_000);
  return { ws, frames, send };
}

const events = (frames: ServerFrame[]): Extract<ServerFrame, { type: 'EVENT' }>[] => frames.filter((f): f is Extract<ServerFrame, { type: 'EVENT' }> => f.type === 'EVENT');

describe('client gateway: resumable subscriptions', () => {
  it('replays the map state above the cursor before answering, with the owner`s marks, then goes on live with marks', async () => {
    await start();
    const map = nodes[0]!.node.getMap<string>('m');
    await map.set('a', 'a0');
    await map.set('b', 'b0');
    await map.delete('b');
    await map.set('c', 'c0');
    const c = await connect();
    const pc = partitionOf('c');
    // A cursor just below c's version in its partition, nothing for the others: a, b (a tombstone) and c come back.
    const cVersion = (nodes[0]!.service.store.slot(pc, 'm', 'c')!.version.millis);
    c.send({ type: 'SUBSCRIBE', sub: { id: 100, map: 'm', key: null, prefix: null, since: new Map([[pc, cVersion - 1]]) } });
    await waitFor(() => c.frames.some((f) => f.type === 'RESULT' && f.id === 100), 'the SUBSCRIBE answer', 10_000);
    const replayed = events(c.frames).map((e) => [e.key, e.value === null ? null : decodeValue(e.value)]);
    expect(replayed.sort()).toEqual([['a', 'a0'], ['b', null], ['c', 'c0']]);
    const answer = c.frames.find((f): f is Extract<ServerFrame, { type: 'RESULT' }> => f.type === 'RESULT' && f.id === 100)!;
    const marks = decodeValue(answer.payload!) as number[];
    // Every partition with data has a mark, below its newest version.
    expect(marks.length).toBeGreaterThanOrEqual(2);
    expect(marks[marks.indexOf(pc) + 1]).toBe(cVersion - 1);

    // Live events carry marks for the partitions the answer covered (those with a mark), here c's.
    const [d, e, uncovered] = ['d', 'e', 'u'].map((prefix) => Array.from({ length: 5000 }, (_, i) => `${prefix}-${i}`).find((k) => (partitionOf(k) === pc) === (prefix !== 'u') && (prefix !== 'u' || !marks.includes(partitionOf(k))))!);
    await map.set(d!, 'd0');
    await map.set(uncovered!, 'u0');
    await waitFor(() => events(c.frames).some((ev) => ev.key === uncovered), 'the live events', 10_000);
    const live = events(c.frames).find((ev) => ev.key === d)!;
    expect(live.mark).toEqual({ partition: pc, millis: live.version.millis - 1 });
    expect(events(c.frames).find((ev) => ev.key === uncovered)!.mark).toBeUndefined();
    // A fresh subscription replays nothing; a subscription of an older client gets no marks.
    c.send({ type: 'SUBSCRIBE', sub: { id: 101, map: 'm', key: null, prefix: null, since: null } });
    c.send({ type: 'SUBSCRIBE', sub: { id: 102, map: 'm', key: null, prefix: null } });
    await waitFor(() => c.frames.some((f) => f.type === 'RESULT' && f.id === 102), 'both answers', 10_000);
    expect(events(c.frames).filter((e) => e.id !== 100)).toEqual([]);
    await map.set(e!, 'e0');
    await waitFor(() => events(c.frames).filter((ev) => ev.key === e).length === 3, 'e to all three', 10_000);
    expect(events(c.frames).filter((ev) => ev.key === e).map((ev) => [ev.id, ev.mark !== undefined]).sort()).toEqual([[100, true], [101, true], [102, false]]);
  }, 60_000);

  it('says EVENTS_DROPPED when tombstones above the cursor were collected, and still replays what is there', async () => {
    await start(undefined, { tombstoneTtlMs: 1_000, tombstoneGcIntervalMs: 100 });
    const map = nodes[0]!.node.getMap<string>('m');
    await map.set('gone', 'x');
    const p = partitionOf('gone');
    // A cursor as a mark would be: below the put, so the delete lies above it.
    const before = nodes[0]!.service.store.slot(p, 'm', 'gone')!.version.millis - 1;
    await map.delete('gone');
    await map.set('kept', 'k');
    await waitFor(() => nodes[0]!.service.store.collectedUpTo(p) !== undefined, 'the tombstone collected', 30_000);
    const c = await connect();
    c.send({ type: 'SUBSCRIBE', sub: { id: 5, map: 'm', key: null, prefix: null, since: new Map([[p, before]]) } });
    await waitFor(() => c.frames.some((f) => f.type === 'RESULT' && f.id === 5), 'the SUBSCRIBE answer', 10_000);
    expect(c.frames.filter((f) => f.type === 'EVENTS_DROPPED')).toEqual([expect.objectContaining({ id: 5, code: 'FLO_EVENTS_DROPPED' })]);
    expect(events(c.frames).map((e) => e.key)).toEqual(['kept']);
    // A cursor at or above the collected tombstone loses nothing.
    c.send({ type: 'SUBSCRIBE', sub: { id: 6, map: 'm', key: null, prefix: null, since: new Map([[p, nodes[0]!.service.store.collectedUpTo(p)!]]) } });
    await waitFor(() => c.frames.some((f) => f.type === 'RESULT' && f.id === 6), 'the second answer', 10_000);
    expect(c.frames.filter((f) => f.type === 'EVENTS_DROPPED')).toHaveLength(1);
  }, 60_000);

  it('drops the events of a connection that stopped reading past the bound, and says so once', async () => {
    await start(64 * 1024);
    const c = await connect();
    c.send({ type: 'SUBSCRIBE', sub: { id: 7, map: 'big', key: null, prefix: null, since: null } });
    await waitFor(() => c.frames.some((f) => f.type === 'RESULT' && f.id === 7), 'the SUBSCRIBE answer', 10_000);
    c.ws.pause();
    const map = nodes[0]!.node.getMap('big');
    const value = new Uint8Array(512 * 1024);
    const writes = 48;
    for (let i = 0; i < writes; i++) await map.set(`k${i}`, value);
    c.ws.resume();
    await waitFor(() => c.frames.some((f) => f.type === 'EVENTS_DROPPED'), 'EVENTS_DROPPED', 30_000);
    const notices = c.frames.filter((f): f is Extract<ServerFrame, { type: 'EVENTS_DROPPED' }> => f.type === 'EVENTS_DROPPED');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ id: 7, code: 'FLO_EVENTS_DROPPED' });
    expect(events(c.frames).length).toBeLessThan(writes);
    // Once the connection caught up, events flow again.
    await map.set('after', encodeValue('small'));
    await waitFor(() => events(c.frames).some((e) => e.key === 'after'), 'an event after the drops', 30_000);
  }, 120_000);
});
