// Helpers for the entity integration tests: clusters of in-process nodes hosting test
// entity types over one shared store, and waits for a settled partition table.
import { partitionOf } from '../../src/core/partition.js';
import { defineEntity } from '../../src/entities/index.js';
import type { FlotillaNode, StartNodeOptions } from '../../src/node/index.js';
import type { Storage } from '../../src/storage/storage.js';
import { startCluster, waitFor } from './helpers.js';

export const Counter = defineEntity('Counter', {
  state: () => ({ value: 0 }),
  handlers: {
    increment(ctx, n: number) {
      ctx.state.value += n;
      return ctx.state.value;
    },
    get(ctx) {
      return ctx.state.value;
    },
    whereAmI(ctx) {
      return ctx.nodeId;
    },
    fail(_ctx, message: string): number {
      throw new Error(message);
    },
  },
});

export const PingA = defineEntity('PingA', {
  state: () => ({ hits: 0 }),
  handlers: {
    async start(ctx, bId: string): Promise<number> {
      ctx.state.hits++;
      return await ctx.entity(PingB, bId).bounce(ctx.id);
    },
    back(ctx) {
      ctx.state.hits++;
      return ctx.state.hits;
    },
  },
});

export const PingB = defineEntity('PingB', {
  state: () => ({}),
  handlers: {
    async bounce(ctx, aId: string): Promise<number> {
      return await ctx.entity(PingA, aId).back();
    },
  },
});

/** Coordinator timings for tests: fast table refresh and retries. */
export const FAST_TABLE = {
  tableRefreshIntervalMs: 300,
  tableFetchMinIntervalMs: 20,
  handoverTimeoutMs: 500,
  migrationTimeoutMs: 10_000,
  migrationRetryDelayMs: 100,
  migrationsParallelPerNodeMax: 8,
};

/** `count` nodes hosting the test entities over `storage`. */
export function startEntityCluster(count: number, storage: Storage, extra: StartNodeOptions = {}): Promise<FlotillaNode[]> {
  return startCluster(count, () => ({
    partitions: FAST_TABLE,
    entities: [Counter, PingA, PingB],
    storage,
    entity: { callTimeoutMs: 20_000 },
    lifecycle: { drainTimeoutMs: 20_000, leaveTimeoutMs: 3_000, closeTimeoutMs: 2_000, healthCheckIntervalMs: 50 },
    ...extra,
  }));
}

/** Waits until every node holds the same table, every partition is owned by one of them, and each owns some. */
export async function waitForSettledTable(nodes: readonly FlotillaNode[]): Promise<void> {
  await waitFor(() => {
    const tables = nodes.map((n) => n.partitionTable());
    const first = tables[0];
    if (first === undefined || tables.some((t) => t?.version !== first.version)) return false;
    const ids = new Set(nodes.map((n) => n.nodeId));
    const owners = new Set(first.assignments.map((a) => a.owner));
    return [...owners].every((o) => ids.has(o)) && owners.size === ids.size && nodes.every((n) => n.migrations().inFlight.length === 0);
  }, 'a settled partition table', 30_000);
}

/** The owner of an entity in `node`'s table. */
export function ownerOf(node: FlotillaNode, type: string, id: string): string | undefined {
  const table = node.partitionTable();
  return table?.assignments[partitionOf(`${type}/${id}`, table.partitionCount)]?.owner;
}

/** An id (with `prefix`) whose entity of `type` is owned by `owner` (or not, with `not`). */
export function idOwnedBy(node: FlotillaNode, type: string, owner: string, prefix: string, not = false): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `${prefix}${i}`;
    if ((ownerOf(node, type, id) === owner) !== not) return id;
  }
  throw new Error(`no id owned by ${owner}`);
}

/** Nodes holding an activation of `type/id`. */
export function holders(nodes: readonly FlotillaNode[], type: string, id: string): string[] {
  return nodes.filter((n) => n.activeEntities().some((e) => e.type === type && e.id === id)).map((n) => n.nodeId);
}
