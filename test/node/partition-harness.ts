// Helpers for the sharding tests: in-process nodes started with `startNode` on loopback,
// each with its sharding layer and KV store on fast coordinator timings, plus checks on
// the tables they hold and bulk KV helpers.
import type { PartitionTableData } from '../../src/core/model.js';
import type { KvStore } from '../../src/grid/kv-store.js';
import type { KvValue } from '../../src/grid/kv-codec.js';
import type { FlotillaNode, NodeMigrations, StartNodeOptions } from '../../src/node/index.js';
import { startNode } from '../../src/node/index.js';
import type { RunningNode } from '../../src/node/running-node.js';
import type { MigrationParticipant } from '../../src/sharding/participant.js';
import { nodeOptions, waitFor } from './helpers.js';

/** Sharding settings of a test node, and extra migration participants it hosts. */
export interface ShardingTestOptions extends Pick<StartNodeOptions, 'routing' | 'migration' | 'kv' | 'swim' | 'etcd' | 'clusterId'> {
  readonly partitions?: Exclude<StartNodeOptions['partitions'], false>;
  readonly participants?: readonly MigrationParticipant[];
}

/** A node's sharding layer and KV store, as the tests read them. */
export interface ShardingView {
  table(): PartitionTableData | undefined;
  migrations(): NodeMigrations;
  kvPut(key: string, value: KvValue): Promise<void>;
  kvGet(key: string): Promise<KvValue | undefined>;
  kvDelete(key: string): Promise<boolean>;
  kvSize(): Promise<number>;
  /** The KV entries this node holds. */
  readonly store: KvStore;
}

/** Coordinator timings for tests: fast table refresh and retries. */
export const FAST_PARTITIONS: ShardingTestOptions = {
  partitions: {
    tableRefreshIntervalMs: 300,
    tableFetchMinIntervalMs: 20,
    handoverTimeoutMs: 500,
    migrationTimeoutMs: 10_000,
    migrationRetryDelayMs: 100,
    migrationsParallelPerNodeMax: 4,
  },
  routing: { opTimeoutMs: 20_000, attemptTimeoutMs: 2_000, backoffMaxMs: 100 },
  kv: { replicationTimeoutMs: 2_000 },
  migration: { dataRequestTimeoutMs: 3_000 },
};

/** One test node and its sharding layer. */
export interface PartitionNode {
  readonly id: string;
  readonly node: FlotillaNode;
  readonly service: ShardingView;
}

/** Start node `id`, joining through `seeds` (none: form a cluster). */
export async function startPartitionNode(id: string, seeds: readonly string[] = [], options: ShardingTestOptions = FAST_PARTITIONS): Promise<PartitionNode> {
  const { participants = [], ...settings } = options;
  const node = await startNode(
    nodeOptions({
      nodeId: id,
      seeds,
      ...settings,
      partitions: settings.partitions ?? {},
      partitionedServices: participants.map((participant) => ({ name: participant.name, handlers: [], participant })),
      lifecycle: { drainTimeoutMs: 30_000, leaveTimeoutMs: 3_000, closeTimeoutMs: 2_000, healthCheckIntervalMs: 50 },
    }),
  );
  return { id, node, service: viewOf(node) };
}

/** The sharding view of a node started by `startNode`. */
export function viewOf(node: FlotillaNode): ShardingView {
  const kv = (node as RunningNode).kvService!;
  return {
    table: () => node.partitionTable(),
    migrations: () => node.migrations(),
    kvPut: (key, value) => kv.kvPut(key, value),
    kvGet: (key) => kv.kvGet(key),
    kvDelete: (key) => kv.kvDelete(key),
    kvSize: () => kv.kvSize(),
    store: kv.store,
  };
}

/** Start `count` nodes n1..n<count>: n1 forms, the others join through it. */
export async function startPartitionCluster(count: number, options?: ShardingTestOptions): Promise<PartitionNode[]> {
  const first = await startPartitionNode('n1', [], options);
  const rest: PartitionNode[] = [];
  for (let i = 2; i <= count; i++) rest.push(await startPartitionNode(`n${i}`, [first.node.address], options));
  return [first, ...rest];
}

/** Why `nodes` do not (yet) hold one complete table with an owner and `backups` backups on live members; undefined when they do. */
export function tableProblem(nodes: readonly PartitionNode[], backups = 1): string | undefined {
  const tables = nodes.map((n) => n.service.table());
  const first = tables[0];
  if (first === undefined) return `${nodes[0]!.id} has no table`;
  const ids = new Set(nodes.map((n) => n.id));
  for (const [i, t] of tables.entries()) {
    if (t === undefined || t.version !== first.version) return `${nodes[i]!.id} has table ${t?.version} not ${first.version}`;
  }
  for (const a of first.assignments) {
    if (!ids.has(a.owner)) return `partition ${a.partition} owned by ${a.owner || '(none)'}`;
    if (a.backups.length !== backups || a.backups.some((b) => !ids.has(b) || b === a.owner)) return `partition ${a.partition} backups ${a.backups.join(',')}`;
  }
  const busy = nodes.find((n) => n.service.migrations().inFlight.length > 0);
  return busy === undefined ? undefined : `${busy.id} has migrations in flight`;
}

/**
 * Waits until `nodes` together hold exactly `replicas` entries (owner plus backups of each
 * key): sources keep a moved copy for `movedCopyRetainMs` after each move before letting go.
 * On timeout, says the count held then.
 */
export async function waitForReplicasOnly(nodes: readonly PartitionNode[], replicas: number, timeoutMs = 40_000): Promise<void> {
  const held = (): number => nodes.reduce((n, x) => n + x.service.store.size(), 0);
  try {
    await waitFor(() => held() === replicas, 'nodes holding only their replicas', timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}: they hold ${held()} entries, not ${replicas}`);
  }
}

/** Partitions owned by each node in `table`. */
export function ownedCounts(table: PartitionTableData): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of table.assignments) counts.set(a.owner, (counts.get(a.owner) ?? 0) + 1);
  return counts;
}

/** Run `fn` over `items` with at most `concurrency` at once. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Keys key-0..key-<count - 1>. */
export function keys(count: number, prefix = 'key'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** Stop every write loop and every node still running (errors ignored). */
export async function stopNodes(nodes: readonly PartitionNode[]): Promise<void> {
  await Promise.all([...WriteLoop.active].map((loop) => loop.stop()));
  await Promise.all(nodes.map((n) => n.node.stop().catch(() => undefined)));
}

/** Most errors a write loop records before it stops by itself (a failed test must not leave it spinning). */
const WRITE_LOOP_ERRORS_MAX = 100;

/** A write loop: `workers` writers put fresh keys until stopped, recording what was acknowledged and any error. */
export class WriteLoop {
  /** Loops not yet stopped, for cleanup after a failed test. */
  static readonly active = new Set<WriteLoop>();
  readonly acked = new Map<string, number>();
  readonly errors: unknown[] = [];
  private running = true;
  private readonly done: Promise<void>;
  private seq = 0;

  constructor(
    private readonly writer: () => PartitionNode,
    workers = 8,
    prefix = 'w',
  ) {
    this.done = Promise.all(Array.from({ length: workers }, () => this.work(prefix))).then(() => undefined);
    WriteLoop.active.add(this);
  }

  /** Writes acknowledged so far. */
  get count(): number {
    return this.acked.size;
  }

  /** Stop and wait for the writes in flight. */
  async stop(): Promise<void> {
    this.running = false;
    WriteLoop.active.delete(this);
    await this.done;
  }

  private async work(prefix: string): Promise<void> {
    while (this.running) {
      const i = this.seq++;
      const key = `${prefix}-${i % 3_000}`;
      try {
        await this.writer().service.kvPut(key, i);
        // A later write to the same key may have been acknowledged first: keep the newest.
        if ((this.acked.get(key) ?? -1) < i) this.acked.set(key, i);
      } catch (error) {
        this.errors.push(error);
        if (this.errors.length >= WRITE_LOOP_ERRORS_MAX) this.running = false;
      }
    }
  }
}

/** Read every key (64 at a time, spread over `readers`) and list those whose value is not the expected one. */
export async function mismatches(readers: readonly PartitionNode[], expected: ReadonlyMap<string, unknown>): Promise<string[]> {
  const wrong: string[] = [];
  await eachLimited([...expected], 64, async ([key, value], i) => {
    const got = await readers[i % readers.length]!.service.kvGet(key);
    if (JSON.stringify(got) !== JSON.stringify(value)) wrong.push(`${key}: ${JSON.stringify(got)} != ${JSON.stringify(value)}`);
  });
  return wrong;
}
