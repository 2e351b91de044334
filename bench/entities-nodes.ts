/**
 * The Flotilla side of the entity benchmarks: the counter entity types, starting one
 * in-process node (or a small cluster on 127.0.0.1) with a given storage, and waiting
 * for a cluster to settle so calls measure entities, not a rebalance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { partitionOf } from '../src/core/partition.js';
import { defineEntity, type EntityContext } from '../src/entities/index.js';
import { startNode, type FlotillaNode, type StartNodeOptions } from '../src/node/index.js';
import type { StorageOptions } from '../src/storage/index.js';

/** Counter state: one number. */
interface CounterState {
  value: number;
}

const counterHandlers = {
  increment(ctx: EntityContext<CounterState>, n: number): number {
    ctx.state.value += n;
    return ctx.state.value;
  },
  get(ctx: EntityContext<CounterState>): number {
    return ctx.state.value;
  },
};

/** Counter whose state is saved (durably, before the reply) after every change. */
export const DurableCounter = defineEntity('BenchDurableCounter', {
  state: (): CounterState => ({ value: 0 }),
  handlers: counterHandlers,
  persistence: 'durable',
});

/** Counter kept in memory only: the in-memory comparison. */
export const MemoryCounter = defineEntity('BenchMemoryCounter', {
  state: (): CounterState => ({ value: 0 }),
  handlers: counterHandlers,
  persistence: 'memory',
});

/** Either counter type. */
export type BenchCounter = typeof DurableCounter | typeof MemoryCounter;

/**
 * Where a benchmark node keeps entity state. `sqlite` runs the store's default
 * `synchronous = FULL` (an fsync per commit); `sqlite-normal` runs `synchronous = NORMAL`
 * (survives a process crash, not a power loss), to compare with stores that run that way.
 */
export type BenchStorage = 'memory' | 'sqlite' | 'sqlite-normal' | 'postgres';

/** Nodes started for one measurement, and how to get rid of them (and their files). */
export interface BenchCluster {
  readonly nodes: readonly FlotillaNode[];
  close(): Promise<void>;
}

/** Longest wait for a cluster to form and finish its migrations, ms (the machine is shared and loaded). */
const SETTLE_TIMEOUT_MS = 60_000;
/** Poll interval while waiting for a cluster to settle, ms. */
const SETTLE_POLL_MS = 20;

/** The PostgreSQL URL of the environment, or undefined when none is configured. */
export function postgresUrl(): string | undefined {
  const url = process.env.FLOTILLA_TEST_POSTGRES_URL;
  return url === undefined || url === '' ? undefined : url;
}

function storageOptions(kind: BenchStorage, dir: string): StorageOptions {
  if (kind === 'memory') return { kind: 'memory' };
  if (kind === 'sqlite') return { kind: 'sqlite', path: path.join(dir, 'flotilla.db') };
  if (kind === 'sqlite-normal') return { kind: 'sqlite', path: path.join(dir, 'flotilla.db'), synchronous: 'normal' };
  const url = postgresUrl();
  if (url === undefined) throw new Error('FLOTILLA_TEST_POSTGRES_URL is not set');
  return { kind: 'postgres', url };
}

function benchNodeOptions(nodeId: string, storage: StorageOptions, seeds: readonly string[], entity?: StartNodeOptions['entity']): StartNodeOptions {
  return {
    nodeId,
    dev: true,
    listen: '127.0.0.1:0',
    seeds,
    logLevel: 'silent',
    entities: [DurableCounter, MemoryCounter],
    storage,
    ...(entity === undefined ? {} : { entity }),
  };
}

/**
 * Starts `count` in-process nodes sharing one store (a fresh temporary SQLite file, the
 * environment's PostgreSQL, or per-node memory) and waits until they agree on the
 * partition table with no migration left.
 */
export async function startBenchCluster(count: number, kind: BenchStorage, entity?: StartNodeOptions['entity']): Promise<BenchCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-entities-'));
  const storage = storageOptions(kind, dir);
  const nodes: FlotillaNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    nodes.push(await startNode(benchNodeOptions('b1', storage, [], entity)));
    for (let i = 2; i <= count; i++) nodes.push(await startNode(benchNodeOptions(`b${i}`, storage, [nodes[0]!.address], entity)));
    await waitSettled(nodes);
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes, close };
}

/** Every node holds the same table, owned by all of them, with no migration in flight. */
function settled(nodes: readonly FlotillaNode[]): boolean {
  const tables = nodes.map((n) => n.partitionTable());
  const first = tables[0];
  if (first === undefined) return false;
  const owners = new Set(first.assignments.map((a) => a.owner));
  return (
    owners.size === nodes.length &&
    tables.every((t) => t?.version === first.version) &&
    nodes.every((n) => n.migrations().inFlight.length === 0)
  );
}

async function waitSettled(nodes: readonly FlotillaNode[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!settled(nodes)) {
    if (Date.now() > deadline) throw new Error(`bench cluster did not settle within ${SETTLE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** The node owning entity `(type, id)` in `node`'s partition table. */
export function ownerOf(node: FlotillaNode, type: string, id: string): string | undefined {
  const table = node.partitionTable();
  if (table === undefined) return undefined;
  return table.assignments[partitionOf(`${type}/${id}`, table.partitionCount)]?.owner;
}

/**
 * The first `count` ids of the form `${prefix}-${k}` whose owner is not `caller`: the
 * entities a cross-node workload calls, so every call crosses the network.
 */
export function remoteIds(caller: FlotillaNode, type: string, prefix: string, count: number): string[] {
  const ids: string[] = [];
  for (let k = 0; ids.length < count; k++) {
    const id = `${prefix}-${k}`;
    const owner = ownerOf(caller, type, id);
    if (owner !== undefined && owner !== caller.nodeId) ids.push(id);
  }
  return ids;
}
