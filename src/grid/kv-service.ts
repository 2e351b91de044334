/**
 * The cluster's key/value store as a partitioned service: an LWW map per partition held
 * by the owner and its backups, registered with the sharding layer (handlers for the
 * owner and the backups, the store as migration participant), and the API that routes
 * each operation to its key's owner.
 */
import { FlotillaError } from '../core/errors.js';
import { HybridLogicalClock } from '../core/hlc.js';
import { partitionOf } from '../core/partition.js';
import type { MigrationParticipant } from '../sharding/participant.js';
import type { PartitionedService, PartitionHandler, RouteOptions, ShardContext } from '../sharding/service.js';
import { checkKey, decodeResult, decodeValue, encodeOp, encodeValue, type KvValue } from './kv-codec.js';
import { resolveKvConfig, type KvConfig } from './kv-config.js';
import { KvHandlers, KV_REPLICA_SERVICE, type KvCounters } from './kv-handler.js';
import { KV_SERVICE, KvStore } from './kv-store.js';

/** Partitions asked at once by `kvSize`. */
export const KV_SIZE_FAN_OUT_MAX = 32;

/** KV counters with the entries held here. */
export type KvStatus = Readonly<KvCounters> & { readonly localEntries: number };

/** The KV store of one node. */
export class KvService implements PartitionedService {
  readonly name = KV_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: MigrationParticipant;
  /** The partitions' entries held on this node (owned and backed up). */
  readonly store: KvStore;
  private readonly config: KvConfig;
  private ctx: ShardContext | undefined;
  private kv: KvHandlers | undefined;
  private built: { owner: PartitionHandler; replica: PartitionHandler } | undefined;

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config. */
  constructor(config: Partial<KvConfig> = {}) {
    this.config = resolveKvConfig(config);
    this.store = new KvStore({
      valueBytesMax: this.config.valueBytesMax,
      captureBytesMax: this.config.captureBytesMax,
      observeVersion: (v) => this.kv?.observe(v),
    });
    this.participant = this.store;
    this.handlers = [
      { service: KV_SERVICE, ownerOnly: true, isWrite: (r) => this.running().owner.isWrite!(r), handle: (r, from) => this.running().owner.handle(r, from) },
      { service: KV_REPLICA_SERVICE, ownerOnly: false, isWrite: () => false, handle: (r, from) => this.running().replica.handle(r, from) },
    ];
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    // One clock for the node's life: versions this node hands out keep going up across merges.
    const hlc = new HybridLogicalClock(ctx.self, { now: () => ctx.timers.now() });
    this.kv = new KvHandlers({ ...ctx, store: this.store, hlc, config: this.config });
    this.built = { owner: this.kv.owner(), replica: this.kv.replica() };
  }

  private running(): { owner: PartitionHandler; replica: PartitionHandler } {
    if (this.built === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'the KV store is not running');
    return this.built;
  }

  /** Counters and the entries held here. */
  status(): KvStatus {
    return { ...(this.kv?.counters ?? { writes: 0, writesRefused: 0, reads: 0, replicated: 0, replicasRefused: 0 }), localEntries: this.store.size() };
  }

  /** Store `value` under `key`; resolves once the owner and every backup have it. */
  async kvPut(key: string, value: KvValue, options?: RouteOptions): Promise<void> {
    const bytes = encodeValue(value);
    if (bytes.byteLength > this.config.valueBytesMax) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `value of ${bytes.byteLength} bytes exceeds ${this.config.valueBytesMax}`);
    }
    await this.route(key, encodeOp({ op: 'put', key: checkKey(key), value: bytes }), options);
  }

  /** The value under `key`, or undefined. */
  async kvGet(key: string, options?: RouteOptions): Promise<KvValue | undefined> {
    const payload = await this.route(key, encodeOp({ op: 'get', key: checkKey(key) }), options);
    return payload === undefined ? undefined : decodeValue(payload);
  }

  /** Remove `key`; true when it was there. */
  async kvDelete(key: string, options?: RouteOptions): Promise<boolean> {
    return decodeResult(await this.route(key, encodeOp({ op: 'delete', key: checkKey(key) }), options)) === true;
  }

  /** Entries in the whole store: each partition counted at its owner. */
  async kvSize(): Promise<number> {
    const ctx = this.requireCtx();
    const count = ctx.partitionCount;
    const payload = encodeOp({ op: 'size' });
    let total = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const p = next++;
        const n = decodeResult(await ctx.route(KV_SERVICE, p, payload));
        total += typeof n === 'number' ? n : 0;
      }
    };
    await Promise.all(Array.from({ length: Math.min(KV_SIZE_FAN_OUT_MAX, count) }, worker));
    return total;
  }

  private route(key: string, payload: Uint8Array, options?: RouteOptions): Promise<Uint8Array | undefined> {
    const ctx = this.requireCtx();
    return ctx.route(KV_SERVICE, partitionOf(key, ctx.partitionCount), payload, options);
  }

  private requireCtx(): ShardContext {
    if (this.ctx === undefined || this.ctx.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', 'the KV store is not running');
    return this.ctx;
  }
}
