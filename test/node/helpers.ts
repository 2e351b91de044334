// Shared helpers for the node tests: fast SWIM timings, a cluster of in-process nodes on
// 127.0.0.1 with OS-picked ports, and waiting on conditions with deadlines.
import type { SwimConfig } from '../../src/membership/config.js';
import type { FlotillaNode, StartNodeOptions } from '../../src/node/index.js';
import { startNode } from '../../src/node/index.js';

export const SECRET = 'test-secret-0123456789abcdef';

/** SWIM timings scaled down about 5x so a test cluster converges and detects in a second or two. */
export const FAST_SWIM: Partial<SwimConfig> = {
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  pushPullIntervalMs: 3_000,
  reconnectIntervalMs: 2_000,
  heartbeatIntervalMs: 1_000,
  joinBackoffInitialMs: 50,
  joinBackoffMaxMs: 400,
  leaveTimeoutMs: 2_000,
  viewPublishIntervalMinMs: 20,
  suspicionMult: 2,
};

/** Options of one test node: loopback, port 0, silent, fast. */
export function nodeOptions(overrides: StartNodeOptions = {}): StartNodeOptions {
  return {
    listen: '127.0.0.1:0',
    secret: SECRET,
    logLevel: 'silent',
    partitions: false,
    ...overrides,
    swim: { ...FAST_SWIM, ...overrides.swim },
    lifecycle: { drainTimeoutMs: 1_000, leaveTimeoutMs: 3_000, closeTimeoutMs: 2_000, healthCheckIntervalMs: 50, ...overrides.lifecycle },
  };
}

/** Starts `count` nodes: the first forms the cluster, the others join through it. */
export async function startCluster(count: number, overrides: (i: number) => StartNodeOptions = () => ({})): Promise<FlotillaNode[]> {
  const first = await startNode(nodeOptions({ nodeId: 'n1', ...overrides(0) }));
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, (_, k) => startNode(nodeOptions({ nodeId: `n${k + 2}`, seeds: [first.address], ...overrides(k + 1) }))),
  );
  return [first, ...rest];
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until every node in `nodes` has run `rounds` more probes than now: that many protocol periods passed everywhere. */
export async function waitForProbeRounds(nodes: readonly FlotillaNode[], rounds: number): Promise<void> {
  const start = nodes.map((n) => n.stats().membership.probes);
  await waitFor(() => nodes.every((n, i) => n.stats().membership.probes >= start[i]! + rounds), `${rounds} probe rounds on every node`);
}

/** Whether every node sees exactly `ids` alive, agrees on one master, and holds the same view with those members active. */
export function converged(nodes: readonly FlotillaNode[], ids: readonly string[] = nodes.map((n) => n.nodeId)): boolean {
  const want = [...ids].sort().join(',');
  const masters = new Set(nodes.map((n) => n.master()));
  const views = new Set(
    nodes.map((n) => {
      const view = n.membersView();
      const active = (view?.members ?? []).filter((m) => m.status === 'active').map((m) => m.nodeId).sort().join(',');
      return `${view?.version ?? 0}|${active}`;
    }),
  );
  const alive = nodes.every((n) => n.members().filter((m) => m.state === 'alive').map((m) => m.nodeId).sort().join(',') === want);
  return alive && masters.size === 1 && !masters.has(undefined) && views.size === 1 && [...views][0]!.endsWith(`|${want}`);
}

/** Stops every node that is still running. */
export async function stopAll(nodes: readonly FlotillaNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}
