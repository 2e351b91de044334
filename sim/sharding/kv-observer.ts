/**
 * Registers the real KV store with the sharding layer through a see-through wrapper that
 * reports every write its owner handler acknowledges, with the partition's epoch in the
 * node's table when the handler ran (the handler applies the write before its first
 * await, so that is the epoch it served under). The simulator's invariants use it to
 * tell whether two nodes ever served writes for one partition at one epoch. The store,
 * its handlers and its migration participant are the production ones, unchanged.
 */
import type { Millis } from '../../src/core/clock.js';
import type { NodeId } from '../../src/core/model.js';
import type { KvService } from '../../src/grid/kv-service.js';
import { KV_SERVICE } from '../../src/grid/kv-store.js';
import type { PartitionedService, PartitionHandler, ShardContext } from '../../src/sharding/service.js';

/** A write the KV owner handler of `node` acknowledged. */
export interface ServedWrite {
  readonly node: NodeId;
  readonly partition: number;
  readonly epoch: number;
  readonly tableVersion: number;
  /** When the handler began (the write had passed the read-only gate then), virtual time. */
  readonly startedAt: Millis;
}

/** `kv` as a partitioned service whose acknowledged owner writes are reported to `onServed`. */
export function observedKv(kv: KvService, now: () => Millis, onServed: (write: ServedWrite) => void): PartitionedService {
  let ctx: ShardContext | undefined;
  const wrap = (handler: PartitionHandler): PartitionHandler => {
    if (handler.service !== KV_SERVICE) return handler;
    return {
      service: handler.service,
      ownerOnly: handler.ownerOnly,
      ...(handler.isWrite === undefined ? {} : { isWrite: (request) => handler.isWrite!(request) }),
      handle: (request, from) => {
        const table = ctx?.table();
        const served = table === undefined ? undefined : { partition: request.partition, epoch: table.epoch(request.partition), tableVersion: table.version, startedAt: now() };
        const write = handler.isWrite?.(request) ?? true;
        const result = handler.handle(request, from);
        if (!write || served === undefined || ctx === undefined) return result;
        const node = ctx.self;
        return result.then((reply) => {
          onServed({ node, ...served });
          return reply;
        });
      },
    };
  };
  return {
    name: kv.name,
    handlers: kv.handlers.map(wrap),
    participant: kv.participant,
    start(context: ShardContext): void {
      ctx = context;
      kv.start(context);
    },
  };
}
