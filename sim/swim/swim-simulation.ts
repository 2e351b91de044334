/**
 * Builds simulations of the real SWIM membership machine: every node is a `SwimMachine`
 * started at creation, sized on the wire by the protocol codec, and optionally fed
 * decoded copies of every message so a run exercises the codec end to end.
 */
import type { Address, NodeId } from '../../src/core/model.js';
import type { SwimConfig } from '../../src/membership/config.js';
import type { Member, MembershipEvent } from '../../src/membership/events.js';
import { SwimMachine } from '../../src/membership/swim.js';
import { decode, encode, encodedSize } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import type { LinkConfig } from '../network.js';
import type { SimNode } from '../sim-node.js';
import { Simulation } from '../simulation.js';

/** A simulation of SWIM nodes. */
export type SwimSimulation = Simulation<Message, MembershipEvent, SwimMachine>;

/** A node of a SWIM simulation. */
export type SwimNode = SimNode<SwimMachine, Message, MembershipEvent>;

/** Cluster id every simulated node uses. */
export const SIM_CLUSTER_ID = 'sim';

/** Options of `swimSimulation`. */
export interface SwimSimulationOptions {
  readonly seed: number;
  /** Nodes created at once, at time zero. Default 0 (the scenario adds them). */
  readonly nodes?: number;
  /** SWIM config overrides for every node. */
  readonly config?: Partial<SwimConfig>;
  /** Default link config. */
  readonly link?: Partial<LinkConfig>;
  /** Seed nodes (the first `seedCount` by index). Default 3. */
  readonly seedCount?: number;
  /**
   * Count bytes with the codec's exact `encodedSize`, sizing one message in this many per
   * type. Default 1 (every message); 0 turns byte counting off.
   */
  readonly sizeSampleEvery?: number;
  /** Deliver `decode(encode(message))` instead of the sent object. Default false. */
  readonly codecRoundTrip?: boolean;
  /** Record a trace digest. Default false. */
  readonly trace?: boolean;
}

/** A simulation whose factory builds and starts a `SwimMachine` per node. */
export function swimSimulation(options: SwimSimulationOptions): SwimSimulation {
  const every = options.sizeSampleEvery ?? 1;
  const sim: SwimSimulation = new Simulation<Message, MembershipEvent, SwimMachine>({
    seed: options.seed,
    seedCount: options.seedCount ?? 3,
    trace: options.trace ?? false,
    network: {
      link: options.link,
      ...(every > 0 ? { sizeOf: encodedSize, sizeSampleEvery: every } : {}),
      ...(options.codecRoundTrip === true ? { codec: { encode: (m: Message) => encode(m), decode: (b: Uint8Array) => decode(b) }, deliverDecodedCopy: true } : {}),
    },
    factory: (ctx) => {
      const machine = new SwimMachine({
        self: { nodeId: ctx.nodeId, address: ctx.address, tags: {} },
        clusterId: SIM_CLUSTER_ID,
        seeds: ctx.seeds,
        random: ctx.random,
        now: ctx.now,
        config: options.config,
      });
      machine.start(ctx.now);
      return machine;
    },
  });
  if (options.nodes !== undefined) sim.addNodes(options.nodes);
  return sim;
}

/** The member `nodeId` as `observer` sees it. */
export function memberSeenBy(observer: SwimNode, nodeId: NodeId): Member | undefined {
  return observer.machine.member(nodeId);
}

/** Whether every node in `observers` sees exactly `expected` alive (self included) and no suspect. */
export function allSeeAlive(observers: readonly SwimNode[], expected: readonly SwimNode[]): boolean {
  const ids = new Set(expected.map((n) => n.nodeId));
  // Scenarios ask this after every instant: the O(1) counts of every observer first, so
  // the O(N^2) per-member check only runs once the counts already agree.
  for (const o of observers) {
    const stats = o.machine.stats().members;
    if (stats.alive !== ids.size || stats.suspect !== 0) return false;
  }
  for (const o of observers) for (const id of ids) if (o.machine.member(id)?.state !== 'alive') return false;
  return true;
}

/** The master every node in `nodes` computes, or undefined when they disagree. */
export function agreedMaster(nodes: readonly SwimNode[]): NodeId | undefined {
  const masters = new Set(nodes.map((n) => n.machine.master()));
  if (masters.size !== 1) return undefined;
  return [...masters][0];
}

/** Whether every node holds the same members view version with the same active members. */
export function agreedView(nodes: readonly SwimNode[]): boolean {
  const keys = new Set(
    nodes.map((n) => {
      const view = n.machine.membersView();
      if (view === undefined) return 'none';
      const active = view.members.filter((m) => m.status === 'active').map((m) => m.nodeId).sort();
      return `${view.version}:${active.join(',')}`;
    }),
  );
  return keys.size === 1 && !keys.has('none');
}

/** Node ids, for messages. */
export function ids(nodes: readonly SwimNode[]): NodeId[] {
  return nodes.map((n) => n.nodeId);
}

/** Addresses of nodes. */
export function addresses(nodes: readonly SwimNode[]): Address[] {
  return nodes.map((n) => n.address);
}

/**
 * Add `count` nodes now and run until every running node sees them all alive and holds
 * the same members view. Returns how long that took, or undefined after `timeoutMs`.
 */
export function formCluster(sim: SwimSimulation, count: number, timeoutMs: number = 60_000): number | undefined {
  sim.addNodes(count);
  return sim.waitFor(() => converged(sim.upNodes()), timeoutMs);
}

/** Every node sees exactly the others alive and holds the same members view. */
export function converged(nodes: readonly SwimNode[]): boolean {
  return allSeeAlive(nodes, nodes) && agreedView(nodes);
}
