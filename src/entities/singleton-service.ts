/**
 * The singleton service: cluster singletons as a partitioned service of the sharding
 * layer. Each singleton lives on the owner of `partitionOf("singleton/" + name)`; this
 * service checks on the host's timers (and at once on every table change its participant
 * hears of) whether this node should lead each one, answers the `singletons` requests of
 * the ones it leads, and routes a ref's operations to the leader from any node.
 */
import { FlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import { sleep } from '../core/timers.js';
import type { PartitionedService, PartitionHandler, ShardContext } from '../sharding/service.js';
import type { Storage } from '../storage/storage.js';
import { singletonKey, type LeadershipRecord, type SingletonDefinition } from './singleton-definition.js';
import { decodeSingletonRequest, encodeSingletonRequest, isSingletonWrite, makeSingletonRef, SINGLETON_SERVICE, type SingletonOp, type SingletonRef } from './singleton-ops.js';
import { SINGLETON_LEADING_SERVICE } from './singleton-handover.js';
import { SingletonParticipant } from './singleton-participant.js';
import { withCounterReset, withHistoryCleared } from './singleton-record.js';
import type { SingletonLeader } from './singleton-leader.js';
import { SingletonSlot } from './singleton-slot.js';
import { decodeValue, encodeValue } from './state-codec.js';

/** How often every singleton is checked against the table, ms (table changes also check at once). */
export const SINGLETON_CHECK_INTERVAL_MS = 250;
/** How long a request on the owner waits for the takeover to finish, ms; then FLO_TIMEOUT (retried). */
export const SINGLETON_LEADER_WAIT_MS = 5_000;
/** Deadline of one ref operation from any node, retries included, ms. */
export const SINGLETON_CALL_TIMEOUT_MS = 30_000;

/** How to build the singleton service. */
export interface SingletonServiceOptions {
  readonly nodeId: NodeId;
  readonly definitions: readonly SingletonDefinition[];
  /** The shared, fenced store (the entity store). */
  readonly storage: Storage;
  readonly logger: Logger;
}

/** One singleton's state on this node, for introspection. */
export interface SingletonStatus {
  readonly name: string;
  readonly partition: number;
  /** Whether this node leads it now. */
  readonly leading: boolean;
  readonly epoch: number | null;
  readonly takeovers: number;
  readonly stepDowns: number;
}

/** The singleton service of one node. */
export class SingletonService implements PartitionedService {
  readonly name = SINGLETON_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: SingletonParticipant;
  private readonly definitions = new Map<string, SingletonDefinition>();
  /** One slot per singleton, placed once the partition count is known (`start`). */
  private readonly slots = new Map<string, SingletonSlot>();
  private ctx: ShardContext | undefined;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly options: SingletonServiceOptions) {
    for (const definition of options.definitions) {
      if (definition.kind !== 'singleton') throw new FlotillaError('FLO_CONFIG_INVALID', 'singletons: an entry is not a singleton definition');
      if (this.definitions.has(definition.name)) throw new FlotillaError('FLO_CONFIG_INVALID', `singleton '${definition.name}' is registered twice`);
      this.definitions.set(definition.name, definition);
    }
    this.handlers = [
      {
        service: SINGLETON_SERVICE,
        ownerOnly: true,
        isWrite: (request) => writes(request.payload),
        handle: async (request) => encodeValue(await this.serve(request.payload)),
      },
      {
        // A new owner asks the previous leader whether it still runs a singleton (see singleton-handover.ts).
        service: SINGLETON_LEADING_SERVICE,
        ownerOnly: false,
        isWrite: () => false,
        handle: (request) => Promise.resolve(encodeValue(this.slots.get(String(decodeValue(request.payload)))?.active ?? false)),
      },
    ];
    this.participant = new SingletonParticipant({
      reconcile: (p) => this.slotsOf(p).forEach((s) => s.reconcile()),
      settled: async (p) => {
        await Promise.all(this.slotsOf(p).map((s) => s.settled()));
      },
    });
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    for (const [name, definition] of this.definitions) {
      const partition = partitionOf(singletonKey(name), ctx.partitionCount);
      const { nodeId: self, storage, logger } = this.options;
      this.slots.set(name, new SingletonSlot({ definition, self, partition, storage, logger, ctx: () => this.ctx, stopping: () => this.stopping }));
    }
    this.loop = this.checkLoop(ctx);
    this.options.logger.info({ singletons: [...this.slots.keys()] }, 'singletons: serving');
  }

  /** A ref to singleton `name`: its operations reach the leader from this node. FLO_NOT_FOUND for a name not registered here. */
  ref(name: string): SingletonRef {
    if (!this.definitions.has(name)) throw new FlotillaError('FLO_NOT_FOUND', `no singleton '${name}' is registered`);
    return makeSingletonRef(name, (op) => this.send(op, name));
  }

  /** Where each singleton stands on this node. */
  status(): SingletonStatus[] {
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      partition: s.partition,
      leading: s.leader !== undefined,
      epoch: s.leader?.epoch ?? null,
      takeovers: s.stats.takeovers,
      stepDowns: s.stats.stepDowns,
    }));
  }

  /** Stop leading everything: each function's signal aborts and each leadership records its end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.slots.values()].map((s) => s.settled()));
    await this.loop;
  }

  private async send(op: SingletonOp, name: string): Promise<unknown> {
    const ctx = this.ctx;
    if (ctx === undefined || ctx.stopped() || this.stopping) throw new FlotillaError('FLO_NODE_STOPPED', 'singleton service is not running');
    const slot = this.slots.get(name);
    if (slot === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no singleton '${name}' is registered`);
    const reply = await ctx.route(SINGLETON_SERVICE, slot.partition, encodeSingletonRequest({ op, name }), { deadline: ctx.timers.now() + SINGLETON_CALL_TIMEOUT_MS });
    if (reply === undefined) throw new FlotillaError('FLO_INTERNAL', 'singleton answer without a payload');
    return decodeValue(reply);
  }

  /** Run one operation on this node, which the router found to own the partition. */
  private async serve(payload: Uint8Array): Promise<unknown> {
    const request = decodeSingletonRequest(payload);
    const slot = this.slots.get(request.name);
    if (slot === undefined) throw new FlotillaError('FLO_NOT_FOUND', `no singleton '${request.name}' is registered`);
    const leader = await this.leaderOf(slot);
    switch (request.op) {
      case 'next':
        return leader.next();
      case 'history':
        return leader.record.history.map((e): LeadershipRecord => ({ ...e }));
      case 'runner':
        return this.options.nodeId;
      case 'clearHistory':
        return leader.change((r) => ({ record: withHistoryCleared(r, this.options.nodeId, leader.epoch), result: null }));
      case 'resetCounter':
        return leader.change((r) => ({ record: withCounterReset(r), result: null }));
    }
  }

  /** This node's leadership of `slot`, waiting (bounded) for a takeover under way; FLO_NOT_OWNER when it should not lead. */
  private async leaderOf(slot: SingletonSlot): Promise<SingletonLeader> {
    const ctx = this.ctx!;
    const deadline = ctx.timers.now() + SINGLETON_LEADER_WAIT_MS;
    let timedOut = false;
    const timer = ctx.timers.at(deadline, () => {
      timedOut = true;
      slot.forgetListeners();
    });
    try {
      for (;;) {
        const epoch = slot.wantedEpoch();
        if (epoch === undefined) throw new FlotillaError('FLO_NOT_OWNER', `singleton ${slot.name} is not led here`, { partition: slot.partition });
        const leader = slot.leader;
        if (leader !== undefined && leader.epoch === epoch) return leader;
        if (timedOut) throw new FlotillaError('FLO_TIMEOUT', `singleton ${slot.name}: takeover did not finish in ${SINGLETON_LEADER_WAIT_MS} ms`);
        const changed = slot.changed();
        slot.reconcile();
        await changed;
      }
    } finally {
      timer.cancel();
    }
  }

  private slotsOf(partition: number): SingletonSlot[] {
    return [...this.slots.values()].filter((s) => s.partition === partition);
  }

  /** Checks every singleton every `SINGLETON_CHECK_INTERVAL_MS` until the service or its host stops. */
  private async checkLoop(ctx: ShardContext): Promise<void> {
    while (!this.stopping && !ctx.stopped()) {
      for (const slot of this.slots.values()) slot.reconcile();
      await sleep(ctx.timers, SINGLETON_CHECK_INTERVAL_MS);
    }
  }
}

/** Whether a request payload asks for a write; unreadable ones count as writes (`handle` then refuses them). */
function writes(payload: Uint8Array): boolean {
  try {
    return isSingletonWrite(decodeSingletonRequest(payload).op);
  } catch {
    return true;
  }
}
