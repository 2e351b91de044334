// A Jepsen-style check of the smart client against `flotilla start` processes: several
// clients write increasing counters to their own keys and read them back while the
// owners of their keys are killed with SIGKILL, one after another (each after the table
// has healed). Checked: every acknowledged write is present at the end (the final value
// of a key is its last acknowledged value, or the one write after it that was in flight),
// and each client's reads of a key, its own and other clients' keys, never go back in time.
import { afterEach, describe, expect, it } from 'vitest';
import type { FlotillaClient } from '../../src/client-platform/index.js';
import { pollUntil, type NodeProcess } from './cli-process.js';
import { clusterClient, killNodes, ownerName, startClientCluster, waitForFullTable } from './client-cluster.js';

const CLIENTS = 3;
const KEYS_PER_CLIENT = 4;
/** Owners killed, one after another. */
const KILLS = 2;

let nodes: NodeProcess[] = [];
let clients: FlotillaClient[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await killNodes(nodes);
  nodes = [];
  clients = [];
});

/** What one client saw: per key, its last acknowledged write and its reads, in order. */
interface History {
  readonly acked: Map<string, number>;
  readonly reads: Map<string, number[]>;
  readFailures: number;
  wrote: number;
}

async function workload(client: FlotillaClient, id: number, history: History, running: () => boolean): Promise<void> {
  const map = client.getMap<number>('jepsen');
  const keys = Array.from({ length: KEYS_PER_CLIENT }, (_, k) => `c${id}-k${k}`);
  let seq = 0;
  const read = async (key: string): Promise<void> => {
    try {
      const value = await map.get(key);
      const reads = history.reads.get(key) ?? [];
      reads.push(value ?? 0);
      history.reads.set(key, reads);
    } catch {
      history.readFailures++;
    }
  };
  while (running()) {
    const key = keys[seq % keys.length]!;
    const value = ++seq;
    await map.set(key, value);
    history.acked.set(key, value);
    history.wrote++;
    await read(key);
    // Also read a key another client writes: its values only go up, so must this client's reads of it.
    await read(`c${(id + 1 + (seq % (CLIENTS - 1))) % CLIENTS}-k${seq % KEYS_PER_CLIENT}`);
  }
}

describe('Jepsen-style: acknowledged writes and monotonic reads under kill -9 of owners', () => {
  it(`keeps every acknowledged write of ${CLIENTS} clients through ${KILLS} owner kills`, async () => {
    nodes = await startClientCluster(4, 'j');
    for (let i = 0; i < CLIENTS; i++) clients.push(await clusterClient(nodes));
    await pollUntil(() => clients.every((c) => c.isRoutingActive()), 'every client routing', 30_000);
    const histories: History[] = clients.map(() => ({ acked: new Map(), reads: new Map(), readFailures: 0, wrote: 0 }));
    let running = true;
    const loops = clients.map((c, i) => workload(c, i, histories[i]!, () => running));

    let live = [...nodes];
    for (let kill = 0; kill < KILLS; kill++) {
      const before = histories.reduce((n, h) => n + h.wrote, 0);
      await pollUntil(() => histories.reduce((n, h) => n + h.wrote, 0) >= before + 50, 'writes flowing', 60_000);
      // Kill the owner of a key some client is writing.
      const victimName = await ownerName(live[0]!, `c${kill % CLIENTS}-k0`);
      const victim = live.find((n) => n.name === victimName)!;
      victim.proc.child.kill('SIGKILL');
      live = live.filter((n) => n !== victim);
      await waitForFullTable(live, 90_000);
    }
    const before = histories.reduce((n, h) => n + h.wrote, 0);
    await pollUntil(() => histories.reduce((n, h) => n + h.wrote, 0) >= before + 50, 'writes flowing after the kills', 60_000);
    running = false;
    await Promise.all(loops);

    const checker = await clusterClient(live);
    clients.push(checker);
    const lost: string[] = [];
    const backwards: string[] = [];
    for (const [i, h] of histories.entries()) {
      for (const [key, acked] of h.acked) {
        const final = await checker.getMap<number>('jepsen').get(key);
        // The last write may be acknowledged or have been in flight when the loop stopped: nothing else.
        if (final === undefined || final < acked || final > acked + 1) lost.push(`${key}: acked ${acked}, final ${final}`);
      }
      for (const [key, reads] of h.reads) {
        for (let r = 1; r < reads.length; r++) if (reads[r]! < reads[r - 1]!) backwards.push(`client ${i} ${key}: read ${reads[r - 1]} then ${reads[r]}`);
      }
    }
    expect(lost).toEqual([]);
    expect(backwards).toEqual([]);
    expect(histories.every((h) => h.wrote > 0)).toBe(true);
    console.log(`jepsen: ${histories.map((h, i) => `client ${i}: ${h.wrote} acked writes, ${h.readFailures} failed reads`).join('; ')}`);
  }, 300_000);
});
