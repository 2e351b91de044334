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
import { backwardReads, History, JEPSEN_MAP, lostWrites, writer } from './jepsen-history.js';

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

describe('Jepsen-style: acknowledged writes and monotonic reads under kill -9 of owners', () => {
  it(`keeps every acknowledged write of ${CLIENTS} clients through ${KILLS} owner kills`, async () => {
    nodes = await startClientCluster(4, 'j');
    for (let i = 0; i < CLIENTS; i++) clients.push(await clusterClient(nodes));
    await pollUntil(() => clients.every((c) => c.isRoutingActive()), 'every client routing', 30_000);
    const histories = clients.map(() => new History());
    let running = true;
    const wrote = (): number => histories.reduce((n, h) => n + h.count(), 0);
    const loops = clients.map((c, i) =>
      writer(
        c,
        Array.from({ length: KEYS_PER_CLIENT }, (_, k) => `c${i}-k${k}`),
        histories[i]!,
        () => running,
        // Also read a key another client writes: its values only go up, so must this client's reads of it.
        (seq) => `c${(i + 1 + (seq % (CLIENTS - 1))) % CLIENTS}-k${seq % KEYS_PER_CLIENT}`,
      ),
    );

    let live = [...nodes];
    for (let kill = 0; kill < KILLS; kill++) {
      const before = wrote();
      await pollUntil(() => wrote() >= before + 50, 'writes flowing', 60_000);
      // Kill the owner of a key some client is writing.
      const victimName = await ownerName(live[0]!, `c${kill % CLIENTS}-k0`);
      const victim = live.find((n) => n.name === victimName)!;
      victim.proc.child.kill('SIGKILL');
      live = live.filter((n) => n !== victim);
      await waitForFullTable(live, 90_000);
    }
    const before = wrote();
    await pollUntil(() => wrote() >= before + 50, 'writes flowing after the kills', 60_000);
    running = false;
    await Promise.all(loops);

    const checker = await clusterClient(live);
    clients.push(checker);
    // The last write may be acknowledged or have been in flight when the loop stopped: nothing else.
    const lost = await lostWrites(histories, (key) => checker.getMap<number>(JEPSEN_MAP).get(key), 1);
    const backwards = backwardReads(histories);
    expect(lost).toEqual([]);
    expect(backwards).toEqual([]);
    expect(histories.every((h) => h.count() > 0)).toBe(true);
    console.log(`jepsen: ${histories.map((h, i) => `client ${i}: ${h.count()} acked writes, ${h.readFailures} failed reads`).join('; ')}`);
  }, 300_000);
});
