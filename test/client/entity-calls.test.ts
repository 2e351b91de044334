// Entity calls from the smart client through the gateways, over real OS processes and
// sockets: three nodes host `Tally` on one SQLite file; a cluster-mode client calls the
// owner directly, a node that is not the owner answers FLO_NOT_OWNER with the owner's URL
// (or forwards when asked), failures come back with catalogued codes, nothing runs before
// authentication, and after kill -9 of the owner the next call lands on a survivor with
// every acknowledged change kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FlotillaClient, isFlotillaError, type SocketConstructor } from '../../src/client-platform/index.js';
import { decodeServerFrame, encodeClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { packBody } from '../../src/protocol/msgpack.js';
import { pollUntil, randomSecret } from '../cli/cli-process.js';
import { Tally, type GatewayNodeArgs, type GatewayReadyLine } from './fixtures/gateway-entity.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, 'fixtures', 'gateway-entity-node.ts');
const ROOT = path.resolve(here, '..', '..');
const root = mkdtempSync(path.join(os.tmpdir(), 'flotilla-gw-entity-'));
const JWT_SECRET = randomSecret();
const Socket = WebSocket as unknown as SocketConstructor;
// Generous: each child starts TypeScript through tsx on a shared, loaded machine.
const START_DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;

interface NodeProc {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly ready: GatewayReadyLine;
  readonly exited: Promise<void>;
}

const running: NodeProc[] = [];
const clients: FlotillaClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  const procs = running.splice(0);
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function spawnNode(args: GatewayNodeArgs): Promise<NodeProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.nodeId} not ready in ${START_DEADLINE_MS} ms:\n${output.join('\n')}`)), START_DEADLINE_MS);
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.includes('"gatewayNodeReady"')) return;
      clearTimeout(timer);
      const proc: NodeProc = { child, output, ready: JSON.parse(line) as GatewayReadyLine, exited };
      running.push(proc);
      resolve(proc);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.nodeId} exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`));
    });
  });
}

function token(): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('entity-test').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}

async function startCluster(name: string): Promise<NodeProc[]> {
  const sqlitePath = path.join(root, `${name}.db`);
  const first = await spawnNode({ nodeId: `${name}1`, seeds: [], sqlitePath, jwtSecret: JWT_SECRET });
  const rest = await Promise.all([2, 3].map((i) => spawnNode({ nodeId: `${name}${i}`, seeds: [first.ready.address], sqlitePath, jwtSecret: JWT_SECRET })));
  return [first, ...rest];
}

async function clusterClient(nodes: readonly NodeProc[], requestTimeoutMs = 60_000): Promise<FlotillaClient> {
  const client = new FlotillaClient({ cluster: { seeds: nodes.map((n) => n.ready.url) }, authToken: await token(), WebSocket: Socket, config: { requestTimeoutMs } });
  clients.push(client);
  // Routing is settled once every node serves clients and owns some partitions in the client's map.
  await pollUntil(() => client.isRoutingActive() && client.getConnectedNodes().length === nodes.length && client.getClusterStats().nodeCount === nodes.length, 'the client connected to every node with a full map', START_DEADLINE_MS);
  return client;
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'resolved';
  } catch (error) {
    return isFlotillaError(error) ? error.code : `not a FlotillaError: ${String(error)}`;
  }
}

/** A raw authenticated socket to `url`, collecting every server frame. */
async function rawSession(url: string, authenticate: boolean): Promise<{ ws: WebSocket; frames: ServerFrame[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const frames: ServerFrame[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 20)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await pollUntil(() => frames.some((f) => f.type === 'AUTH_REQUIRED'), 'AUTH_REQUIRED', 10_000);
  if (authenticate) {
    ws.send(encodeClientFrame({ type: 'AUTH', token: await token() }));
    await pollUntil(() => frames.some((f) => f.type === 'AUTH_ACK'), 'AUTH_ACK', 10_000);
  }
  return { ws, frames, closed };
}

function callFrame(id: number, entityId: string, handler: string, args: unknown[], forward: boolean): Uint8Array {
  return encodeClientFrame({ type: 'CALL', call: { id, entityType: 'Tally', entityId, handler, args: new Uint8Array(packBody(args)), forward, callId: `raw-${id}` } });
}

describe('entity calls through the client gateway (real processes)', () => {
  it('routes to the owner, answers NOT_OWNER or forwards elsewhere, and reports failures with codes', async () => {
    const nodes = await startCluster('ec');
    const client = await clusterClient(nodes);
    const tally = client.entity(Tally, 't-1');

    expect(await tally.add(2)).toBe(2);
    expect(await tally.add(3)).toBe(5);
    const owner = await tally.where();
    expect(await tally.read()).toEqual({ total: 5, adds: 2, node: owner });
    expect(await tally.nothing()).toBeUndefined();

    // A node that does not own t-1: without forward it names the owner; with forward it carries the call there.
    const ownerProc = nodes.find((n) => n.ready.nodeId === owner)!;
    const other = nodes.find((n) => n !== ownerProc)!;
    const raw = await rawSession(other.ready.url, true);
    raw.ws.send(callFrame(1, 't-1', 'add', [1], false));
    raw.ws.send(callFrame(2, 't-1', 'add', [10], true));
    await pollUntil(() => raw.frames.filter((f) => (f.type === 'ERROR' || f.type === 'RESULT') && f.id > 0).length >= 2, 'both answers', 30_000);
    const notOwner = raw.frames.find((f) => f.type === 'ERROR' && f.id === 1);
    expect(notOwner).toMatchObject({ code: 'FLO_NOT_OWNER', owner: { nodeId: owner, url: ownerProc.ready.url } });
    const forwarded = raw.frames.find((f) => f.type === 'RESULT' && f.id === 2);
    expect(forwarded).toBeDefined();
    expect(await tally.read()).toMatchObject({ total: 15, adds: 3 });
    raw.ws.close();

    // Typed failures, each with its catalogued code.
    const Fake = { type: 'Tally', handlers: { missing: (_ctx: never) => 0 }, traits: [] } as const;
    const Unknown = { type: 'Nope', handlers: { any: (_ctx: never) => 0 }, traits: [] } as const;
    expect(await codeOf(client.entity(Fake, 't-1').missing())).toBe('FLO_HANDLER_UNKNOWN');
    expect(await codeOf(client.entity(Unknown, 'x').any())).toBe('FLO_ENTITY_UNKNOWN');
    expect(await codeOf(tally.fail('boom'))).toBe('FLO_HANDLER_FAILED');
    expect(await codeOf(tally.add('three' as unknown as number))).toBe('FLO_INVALID_ARGUMENT');
    const manyArgs = tally.add as unknown as (...args: number[]) => Promise<number>;
    expect(await codeOf(manyArgs(...Array.from({ length: 65 }, () => 1)))).toBe('FLO_INVALID_ARGUMENT');
    expect(() => client.entity(Tally, '')).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(await tally.read()).toMatchObject({ total: 15, adds: 3 });

    // A call slower than the client's deadline times out with FLO_TIMEOUT.
    const impatient = await clusterClient(nodes, 1_500);
    expect(await codeOf(impatient.entity(Tally, 't-slow').stall(6_000))).toBe('FLO_TIMEOUT');

    // Nothing runs before AUTH_ACK: a CALL first is refused and the socket closed.
    const unauth = await rawSession(nodes[0]!.ready.url, false);
    unauth.ws.send(callFrame(3, 't-1', 'add', [100], true));
    expect(await unauth.closed).toBe(4001);
    expect(unauth.frames.some((f) => f.type === 'AUTH_FAIL' && f.code === 'FLO_AUTH_FAILED')).toBe(true);
    expect(await tally.read()).toMatchObject({ total: 15, adds: 3 });
  }, TEST_TIMEOUT_MS);

  it('after kill -9 of the owner, the next call lands on a survivor with every acknowledged change', async () => {
    const nodes = await startCluster('ek');
    const client = await clusterClient(nodes);
    const single = new FlotillaClient({ serverUrl: nodes[0]!.ready.url, authToken: await token(), WebSocket: Socket, config: { requestTimeoutMs: 60_000 } });
    clients.push(single);
    // An entity whose owner is not the node the single-URL client talks to, nor the seed.
    let id = '';
    let owner = '';
    for (let i = 0; i < 200 && id === ''; i++) {
      const where = await client.entity(Tally, `k-${i}`).where();
      if (where !== nodes[0]!.ready.nodeId) [id, owner] = [`k-${i}`, where];
    }
    expect(id).not.toBe('');
    const viaOwner = client.entity(Tally, id);
    const viaForward = single.entity(Tally, id);
    for (let i = 1; i <= 5; i++) expect(await viaOwner.add(1)).toBe(i);
    expect(await viaForward.add(1)).toBe(6);

    const victim = nodes.find((n) => n.ready.nodeId === owner)!;
    victim.child.kill('SIGKILL');
    await victim.exited;

    // Both clients retry through the failover within their deadline; nothing acknowledged is lost.
    expect(await viaOwner.add(1)).toBe(7);
    expect(await viaForward.add(1)).toBe(8);
    const after = await viaOwner.read();
    expect(after).toMatchObject({ total: 8, adds: 8 });
    expect(after.node).not.toBe(owner);
  }, TEST_TIMEOUT_MS);
});
