/**
 * Builds simulations of sharded Flotilla nodes (`ShardHost`: membership, the sharding
 * layer, the KV store) on the simulated network, and answers the questions scenarios ask
 * of such a cluster: which nodes are live members, which one is master, whether the
 * partition tables agree and every partition is fully placed on live nodes.
 */
import type { NodeId } from '../../src/core/model.js';
import type { KvConfig } from '../../src/grid/kv-config.js';
import type { SwimConfig } from '../../src/membership/config.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import type { ShardingOptions } from '../../src/sharding/sharding.js';
import type { LinkConfig } from '../network.js';
import type { SimNode } from '../sim-node.js';
import { Simulation } from '../simulation.js';
import type { ServedWrite } from './kv-observer.js';
import { ShardHost, type SimDurable, type SimSingletons } from './shard-host.js';
import { SimLog } from './sim-logger.js';
import { wireCodec, wireSize, type SimWire } from './wire.js';

/** A simulation of sharded nodes. */
export type ShardSimulation = Simulation<SimWire, MembershipEvent, ShardHost>;

/** A node of it. */
export type ShardNode = SimNode<ShardHost, SimWire, MembershipEvent>;

/** Options of `shardSimulation`. */
export interface ShardSimulationOptions {
  readonly seed: number;
  readonly swim?: Partial<SwimConfig>;
  readonly sharding?: ShardingOptions;
  readonly kv?: Partial<KvConfig>;
  readonly link?: Partial<LinkConfig>;
  /** Size one message in this many per type (0: no byte counts). Default 16. */
  readonly sizeSampleEvery?: number;
  /** Deliver `decode(encode(message))` copies through the real protocol codec. Default false. */
  readonly codecRoundTrip?: boolean;
  readonly trace?: boolean;
  /** Every write a KV owner handler acknowledges, anywhere. */
  readonly onServed?: (write: ServedWrite) => void;
  /** Cluster singletons every node hosts. */
  readonly singletons?: SimSingletons;
  /** Workflows and durable timers every node hosts. */
  readonly durable?: SimDurable;
}

/** A simulation and the log its nodes write to. */
export interface ShardCluster {
  readonly sim: ShardSimulation;
  readonly log: SimLog;
}

/** A simulation whose factory builds a `ShardHost` per node. */
export function shardSimulation(options: ShardSimulationOptions): ShardCluster {
  const every = options.sizeSampleEvery ?? 16;
  const holder: { sim?: ShardSimulation } = {};
  const clock = (): number => holder.sim!.now;
  const log = new SimLog(() => holder.sim?.elapsedMs ?? 0);
  const sim: ShardSimulation = new Simulation<SimWire, MembershipEvent, ShardHost>({
    seed: options.seed,
    trace: options.trace ?? false,
    network: {
      link: options.link,
      ...(every > 0 ? { sizeOf: wireSize, sizeSampleEvery: every } : {}),
      ...(options.codecRoundTrip === true ? { codec: wireCodec, deliverDecodedCopy: true } : {}),
    },
    factory: (ctx) => {
      const host: ShardHost = new ShardHost({
        nodeId: ctx.nodeId,
        address: ctx.address,
        seeds: ctx.seeds,
        random: ctx.random,
        now: ctx.now,
        clock,
        poke: () => sim.poke(ctx.nodeId, host),
        log,
        ...(options.swim === undefined ? {} : { swim: options.swim }),
        ...(options.sharding === undefined ? {} : { sharding: options.sharding }),
        ...(options.kv === undefined ? {} : { kv: options.kv }),
        ...(options.onServed === undefined ? {} : { onServed: options.onServed }),
        ...(options.singletons === undefined ? {} : { singletons: options.singletons }),
        ...(options.durable === undefined ? {} : { durable: options.durable }),
      });
      return host;
    },
  });
  holder.sim = sim;
  return { sim, log };
}

/** Nodes that run (up or paused) and are members that have not left. */
export function liveNodes(sim: ShardSimulation): ShardNode[] {
  return sim.nodes().filter((n) => n.state !== 'down' && !n.machine.hasLeft());
}

/** Whether `node` is up and holds the active status in its own members view. */
export function isActiveMember(node: ShardNode): boolean {
  if (node.state !== 'up') return false;
  const me = node.machine.swim.membersView()?.members.find((m) => m.nodeId === node.nodeId);
  return me?.status === 'active';
}

/**
 * Whether every node in `nodes` sees exactly `nodes` as the active members, under one
 * master and one members view version.
 */
export function membershipAgreed(nodes: readonly ShardNode[]): boolean {
  if (nodes.length === 0) return false;
  const expected = nodes.map((n) => n.nodeId).sort().join(',');
  let key: string | undefined;
  for (const n of nodes) {
    const view = n.machine.swim.membersView();
    if (view === undefined) return false;
    const active = view.members.filter((m) => m.status === 'active').map((m) => m.nodeId).sort().join(',');
    if (active !== expected) return false;
    const k = `${view.version}|${n.machine.swim.master() ?? ''}`;
    if (key === undefined) key = k;
    else if (key !== k) return false;
  }
  return true;
}

/**
 * Whether `side` runs as a cluster of its own: its members agree on membership, and each
 * holds every node of `others` dead (or does not know it), so a heal has to merge two
 * clusters rather than refute suspicions.
 */
export function separated(side: readonly ShardNode[], others: readonly ShardNode[]): boolean {
  if (!membershipAgreed(side)) return false;
  const away = new Set<NodeId>(others.map((n) => n.nodeId));
  return side.every((n) => (n.machine.swim.membersView()?.members ?? []).every((m) => !away.has(m.nodeId) || m.status === 'dead'));
}

/**
 * Why the tables of `nodes` have not converged, or undefined when they have: every node
 * holds the same table version, every partition is owned by one of `nodes`, has
 * `min(backupCount, nodes - 1)` backups among them, and no node has a migration in flight.
 */
export function tablesUnsettled(nodes: readonly ShardNode[], backupCount: number): string | undefined {
  if (nodes.length === 0) return 'no live node';
  const versions = new Set(nodes.map((n) => n.machine.sharding.tableReader()?.version ?? 0));
  if (versions.size !== 1) return `table versions differ: ${[...versions].join(', ')}`;
  const table = nodes[0]!.machine.sharding.tableReader();
  if (table === undefined || table.version === 0) return 'no table yet';
  const live = new Set<NodeId>(nodes.map((n) => n.nodeId));
  const backupsWanted = Math.min(backupCount, nodes.length - 1);
  for (let p = 0; p < table.partitionCount; p++) {
    const owner = table.owner(p);
    if (owner === undefined || !live.has(owner)) return `partition ${p} owned by ${owner ?? 'nobody'}`;
    const backups = table.backups(p).filter((b) => live.has(b) && b !== owner);
    if (backups.length < backupsWanted) return `partition ${p} has ${backups.length} live backups of ${backupsWanted}`;
  }
  for (const n of nodes) {
    const moving = n.machine.sharding.migrations().inFlight.length;
    if (moving > 0) return `${n.nodeId} has ${moving} migrations in flight`;
    const handovers = n.machine.sharding.status().mergeHandovers;
    if (handovers > 0) return `${n.nodeId} is still handing over its data from before a merge`;
  }
  return undefined;
}

/** One line per node: state, members view, master, table version, in-flight migrations, read-only; for failure messages. */
export function describeNodes(nodes: readonly ShardNode[], now: number): string {
  return nodes
    .map((n) => {
      const h = n.machine;
      const view = h.swim.membersView();
      const active = view?.members.filter((m) => m.status === 'active').length ?? 0;
      const table = h.sharding.tableReader()?.version ?? 0;
      const moving = n.state === 'down' ? 0 : h.sharding.migrations().inFlight.length;
      return `${n.nodeId} ${n.state} view v${view?.version ?? 0}/${active} active, master ${h.swim.master() ?? '-'}, table ${table}, ${moving} moving${n.state !== 'down' && h.swim.isReadOnly(now) ? ', read-only' : ''}`;
    })
    .join('; ');
}
