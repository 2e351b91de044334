// Cluster singletons over in-process nodes sharing one store: exactly one node runs the
// singleton (its owner), refs reach it from every node, the counter never repeats, and the
// singleton moves on a graceful leave (handed over: never two running at once) and on a
// stop of its leader, with each leadership in the history.
import { afterAll, describe, expect, it } from 'vitest';
import { defineSingleton } from '../../src/entities/singleton-definition.js';
import type { FlotillaNode } from '../../src/node/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { startEntityCluster, waitForSettledTable } from './entity-harness.js';
import { converged, stopAll, waitFor } from './helpers.js';

/** Where the singleton runs now (node ids, one per running function) and the most at once. */
const running: string[] = [];
let mostAtOnce = 0;

const Clock = defineSingleton(
  'clock',
  async (ctx) => {
    running.push(ctx.nodeId);
    mostAtOnce = Math.max(mostAtOnce, running.length);
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    running.splice(running.indexOf(ctx.nodeId), 1);
  },
  { handoverWaitMs: 2_000 },
);

function leaders(nodes: readonly FlotillaNode[]): string[] {
  return nodes.filter((n) => n.singletonStatus().some((s) => s.name === 'clock' && s.leading)).map((n) => n.nodeId);
}

async function draw(nodes: readonly FlotillaNode[], rounds: number): Promise<number[]> {
  const values: number[] = [];
  for (let i = 0; i < rounds; i++) for (const n of nodes) values.push(await n.singleton('clock').next());
  return values;
}

describe('cluster singletons', () => {
  const storage = new MemoryStorage();
  let nodes: FlotillaNode[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('runs on one node, moves on leave and on stop, and never repeats a counter value', async () => {
    nodes = await startEntityCluster(3, storage, { singletons: [Clock] });
    await waitForSettledTable(nodes);
    await waitFor(() => leaders(nodes).length === 1 && running.length === 1, 'one leader');
    const first = leaders(nodes)[0]!;
    expect(running).toEqual([first]);
    for (const n of nodes) expect(await n.singleton('clock').runner()).toBe(first);

    const seen = await draw(nodes, 5);
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));

    // Graceful leave of the leader: handed over, never two at once.
    const leaving = nodes.find((n) => n.nodeId === first)!;
    await leaving.leave();
    const rest = nodes.filter((n) => n !== leaving);
    await waitFor(() => converged(rest), 'two members after the leave', 20_000);
    await waitFor(() => leaders(rest).length === 1 && running.length === 1, 'a new leader after the leave', 20_000);
    const second = leaders(rest)[0]!;
    expect(second).not.toBe(first);
    seen.push(...(await draw(rest, 3)));

    // Stop of the new leader (no leave): the last node takes over once it is declared gone.
    const stopping = rest.find((n) => n.nodeId === second)!;
    await stopping.stop();
    const last = rest.filter((n) => n !== stopping);
    await waitFor(() => leaders(last).length === 1, 'a leader after the stop', 30_000);
    seen.push(...(await draw(last, 3)));

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(mostAtOnce).toBe(1);
    const history = await last[0]!.singleton('clock').history();
    expect(history.map((h) => h.runner)).toEqual([first, second, last[0]!.nodeId]);
    expect(history.slice(0, 2).every((h) => h.lostLeadershipAt !== null)).toBe(true);
    expect(history[2]!.lostLeadershipAt).toBeNull();
    expect(new Set(history.map((h) => h.epoch)).size).toBe(3);

    await last[0]!.singleton('clock').clearHistory();
    expect((await last[0]!.singleton('clock').history()).map((h) => h.runner)).toEqual([last[0]!.nodeId]);
    await last[0]!.singleton('clock').resetCounter();
    expect(await last[0]!.singleton('clock').next()).toBe(1);
    expect(() => last[0]!.singleton('nope')).toThrow(/no singleton/);
  }, 120_000);
});
