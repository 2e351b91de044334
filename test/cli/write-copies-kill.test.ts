// `kv.writeCopiesMin=2` against `flotilla start` processes and a real crash: a node that
// formed the cluster alone takes no write (the client keeps them pending); two nodes join,
// and the first owner is killed with SIGKILL as soon as writes are acknowledged, while the
// cluster is still placing backups (the window in which, with the default of 1, writes
// acknowledged by the first node alone are lost with it). Every acknowledged write must be
// on the survivors.
import { afterEach, describe, expect, it } from 'vitest';
import type { FlotillaClient } from '../../src/client-platform/index.js';
import { parseExposition, value } from '../gateway/exposition.js';
import { adminCall, adminUrlOf, pollUntil, type NodeProcess } from './cli-process.js';
import { clusterClient, freeAddress, gatewayUrlOf, killNodes, partitionsOf, startClientNode, waitForFullTable } from './client-cluster.js';

const MAP = 'copies';

async function scrape(node: NodeProcess): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition(String((await adminCall(adminUrlOf(node)!, 'GET', '/metrics')).body));
}
const WRITERS = 8;
const TWO_COPIES = ['--kv', 'writeCopiesMin=2'];

let nodes: NodeProcess[] = [];
let clients: FlotillaClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await killNodes(nodes);
  nodes = [];
  clients = [];
});

describe('kv.writeCopiesMin=2 under kill -9 while backups are placed', () => {
  it('acknowledges nothing on a node alone, and loses no acknowledged write when that node dies', async () => {
    const first = startClientNode('c1', await freeAddress(), '', TWO_COPIES);
    nodes.push(first);
    await pollUntil(() => adminUrlOf(first) !== undefined && gatewayUrlOf(first) !== undefined, 'the first node serving', 60_000);
    await pollUntil(async () => (await partitionsOf(first))?.length === 271, 'the first node owning every partition', 60_000);
    const client = await clusterClient([first]);
    clients.push(client);
    await pollUntil(() => client.isRoutingActive(), 'the client routing', 30_000);

    const acked = new Map<string, number>();
    let running = true;
    let sent = 0;
    const loops = Array.from({ length: WRITERS }, async (_, w) => {
      const map = client.getMap<number>(MAP);
      for (let n = 0; running; n++) {
        const key = `w${w}-${n}`;
        sent++;
        await map.set(key, n);
        acked.set(key, n);
      }
    });
    // A failure here surfaces through `Promise.all(loops)`; after a failed check, close() ends them.
    for (const loop of loops) loop.catch(() => undefined);

    // Alone, the node refuses every write: they wait in the client.
    await pollUntil(() => sent >= WRITERS, 'writes sent', 10_000);
    const aloneUntil = Date.now() + 1_500;
    await pollUntil(() => Date.now() >= aloneUntil, 'a while alone', 5_000);
    expect(acked.size).toBe(0);
    expect(client.pendingWrites()).toBe(WRITERS);
    // The refusals show on the node's /metrics (the gateway's ops wait in routing's retries).
    const alone = await scrape(first);
    expect(value(alone, 'flotilla_map_writes_refused_total', { reason: 'too-few-copies' })).toBeGreaterThan(0);
    expect(value(alone, 'flotilla_map_writes_total')).toBe(0);
    expect(value(alone, 'flotilla_client_connections', { state: 'authenticated' })).toBe(1);
    expect(value(alone, 'flotilla_client_ops_total', { outcome: 'ok' })).toBe(0);

    const seed = first.address;
    nodes.push(startClientNode('c2', await freeAddress(), seed, TWO_COPIES), startClientNode('c3', await freeAddress(), seed, TWO_COPIES));
    await pollUntil(() => acked.size >= 30, 'writes acknowledged once backups are placed', 60_000);
    const unbacked = ((await partitionsOf(first)) ?? []).filter((p) => p.backups.length === 0).length;
    first.proc.child.kill('SIGKILL');
    const ackedAtKill = acked.size;
    const survivors = nodes.slice(1);
    await waitForFullTable(survivors, 90_000);
    await pollUntil(() => acked.size >= ackedAtKill + 30, 'writes acknowledged by the survivors', 60_000);
    running = false;
    await Promise.all(loops);

    const checker = await clusterClient(survivors);
    clients.push(checker);
    await pollUntil(() => checker.isRoutingActive(), 'the checker routing', 30_000);
    const lost: string[] = [];
    for (const [key, value] of acked) if ((await checker.getMap<number>(MAP).get(key)) !== value) lost.push(key);
    expect(lost).toEqual([]);
    const answered = await Promise.all(survivors.map(async (n) => value(await scrape(n), 'flotilla_client_ops_total', { outcome: 'ok' }) ?? 0));
    expect(answered.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log(`write copies: ${acked.size} acknowledged writes (${ackedAtKill} before the kill, when ${unbacked} of 271 partitions had no backup yet), 0 lost`);
  }, 300_000);
});
