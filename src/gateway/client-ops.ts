/**
 * Runs clients' map operations (LWW and OR-map) on this node: a keyed op that reaches a node not owning
 * its partition is answered FLO_NOT_OWNER with the owner's client URL (so a routing
 * client retries there), unless the client asked for forwarding (a client that does not
 * route, or one whose owner is unreachable), in which case the sharding layer carries it
 * to the owner. Every failure becomes an ERROR frame with a catalogued code.
 */
import { ErrorCatalog, FlotillaError, isFlotillaError, type ErrorCode } from '../core/errors.js';
import { partitionOf } from '../core/partition.js';
import { checkEncodedValue, encodeValue, pack } from '../grid/kv-codec.js';
import type { MapRouter } from '../grid/grid-map.js';
import type { RouteOptions } from '../sharding/service.js';
import type { KvOp } from '../grid/map-ops.js';
import type { ClientNode, ClientOp, ClientPartitionMap, ServerFrame } from '../protocol/client-frames.js';

/** What op routing reads of the partition table (the sharding layer's live reader fits, without copying it). */
export interface OpTable {
  readonly version: number;
  readonly partitionCount: number;
  owner(partition: number): string | undefined;
}

/** What running ops needs: this node, its table, the client map, and the map store. */
export interface ClientOpContext {
  readonly self: string;
  table(): OpTable | undefined;
  clientMap(): ClientPartitionMap | undefined;
  readonly maps: MapRouter;
  /** How each op is routed: its time budget, retries included (`ClientGatewayConfig.opTimeoutMs`). One object for every op. */
  readonly route?: RouteOptions;
}

/**
 * Start one op; resolves with its result payload (undefined: none), rejects with what
 * `errorFrame` turns into its ERROR. Keyed ops (the many) go straight to the map store,
 * with no promise of their own on the way.
 */
export function startClientOp(ctx: ClientOpContext, op: ClientOp): Promise<Uint8Array | undefined> {
  const { maps } = ctx;
  try {
    if (op.key === null) return scan(maps, op);
    if (!op.forward) checkOwner(ctx, op.key);
    const kvOp = toKvOp(op, op.key);
    if (kvOp.op === 'put' || kvOp.op === 'orAdd') maps.checkValueSize(checkEncodedValue(kvOp.value));
    return maps.run(op.key, kvOp, ctx.route);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function scan(maps: MapRouter, op: ClientOp): Promise<Uint8Array> {
  if (op.op === 'size') return encodeValue(await maps.size(op.map));
  const entries = await maps.entries(op.map);
  return pack(entries.flat());
}

function toKvOp(op: ClientOp, key: string): KvOp {
  if (op.op === 'put') return { op: 'put', map: op.map, key, value: op.value! };
  // Clients get the version with the value, so they can keep their reads monotonic.
  if (op.op === 'get') return { op: 'getVersioned', map: op.map, key };
  if (op.op === 'delete') return { op: 'delete', map: op.map, key };
  if (op.op === 'orAdd') return { op: 'orAdd', map: op.map, key, value: op.value! };
  if (op.op === 'orRemove') return { op: 'orRemove', map: op.map, key, value: op.value };
  if (op.op === 'orGet') return { op: 'orGet', map: op.map, key };
  throw new FlotillaError('FLO_INVALID_ARGUMENT', `${op.op} takes no key`);
}

/** Throws FLO_NOT_OWNER (or FLO_NO_OWNER before the first table) unless this node owns `key`'s partition. */
export function checkOwner(ctx: Pick<ClientOpContext, 'self' | 'table'>, key: string): void {
  const table = ctx.table();
  if (table === undefined) throw new FlotillaError('FLO_NOT_JOINED', 'this node has no partition table yet');
  const owner = table.owner(partitionOf(key, table.partitionCount));
  if (owner !== ctx.self) throw new FlotillaError('FLO_NOT_OWNER', `partition ${partitionOf(key, table.partitionCount)} is owned by ${owner ?? 'nobody'}`);
}

function ownerHint(ctx: Pick<ClientOpContext, 'clientMap'>, key: string | null): ClientNode | null {
  const map = ctx.clientMap();
  if (map === undefined || key === null) return null;
  const index = map.owners[partitionOf(key, map.partitionCount)] ?? -1;
  return index < 0 ? null : map.nodes[index]!;
}

/** The ERROR frame of request `id` on `key` (the owner hint rides along with FLO_NOT_OWNER). */
export function errorFrame(ctx: Pick<ClientOpContext, 'table' | 'clientMap'>, id: number, key: string | null, error: unknown): ServerFrame {
  const e = lastRefusal(isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', 'the operation failed'));
  const owner = e.code === 'FLO_NOT_OWNER' ? ownerHint(ctx, key) : null;
  return { type: 'ERROR', id, code: e.code, message: e.message, owner, mapVersion: ctx.table()?.version ?? null };
}

/**
 * Routing that gave up at its deadline after refusals that say nothing ran (no attempt
 * may have run) answers with the last of them, a retryable code the client acts on
 * (FLO_TOO_FEW_COPIES, FLO_NO_OWNER...), rather than a timeout that hides why.
 */
function lastRefusal(e: FlotillaError): FlotillaError {
  const last = e.details?.['lastError'];
  if (e.code !== 'FLO_TIMEOUT' || e.details?.['outcomeUnknown'] === true || typeof last !== 'string' || !Object.hasOwn(ErrorCatalog, last)) return e;
  const code = last as ErrorCode;
  const spec = ErrorCatalog[code];
  if (!spec.retryable || code === 'FLO_TIMEOUT' || code === 'FLO_UNCONFIRMED') return e;
  const message = String(e.details?.['lastMessage'] ?? '');
  return new FlotillaError(code, message.startsWith(`${spec.message}: `) ? message.slice(spec.message.length + 2) : undefined, e.details);
}
