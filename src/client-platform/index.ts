/**
 * `flotilla/client`: the smart client with the platform filled in. The client itself
 * (`src/client/`) is sans-IO and takes its WebSocket, clock, timers and randomness as
 * inputs; this entry point supplies the ones of the platform it runs on (browser or
 * Node: the global `WebSocket`, `setTimeout`, `Date.now`, `Math.random`), so
 * `new FlotillaClient({ cluster: { seeds }, storage })` just works. No `node:*` imports.
 */
import { FlotillaClient as SansIoClient, type FlotillaClientOptions } from '../client/flotilla-client.js';
import { FlotillaError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Timers } from '../core/timers.js';
import type { SocketConstructor } from '../client/socket.js';

/** The platform's clock and timers. */
export const platformTimers: Timers = {
  now: () => Date.now(),
  at: (at, fn) => {
    const handle = setTimeout(fn, Math.max(0, at - Date.now()));
    return { cancel: () => clearTimeout(handle) };
  },
  // setImmediate (Node) runs after the I/O in hand without the 1 ms floor setTimeout has;
  // browsers have no setImmediate and get setTimeout(0).
  defer: (fn) => {
    const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
    if (immediate !== undefined) immediate(fn);
    else setTimeout(fn, 0);
  },
};

/** The platform's randomness (jitter and failover choice need no seed). */
export const platformRandom: Random = {
  next: () => Math.random(),
  int: (maxExclusive) => Math.floor(Math.random() * maxExclusive),
};

/** The smart client, with the platform's WebSocket (unless one is injected), timers and randomness. */
export class FlotillaClient extends SansIoClient {
  /** @throws FlotillaError FLO_CONFIG_INVALID when no WebSocket is given and the platform has none (Node 20: pass `ws`). */
  constructor(options: FlotillaClientOptions) {
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    if (Socket === undefined) throw new FlotillaError('FLO_CONFIG_INVALID', 'this platform has no global WebSocket: pass one (e.g. `WebSocket` of the ws package)');
    super({ timers: platformTimers, random: platformRandom, ...options, WebSocket: Socket });
  }
}

export type { FlotillaClientOptions, ConnectedNode } from '../client/flotilla-client.js';
export { ClientMap } from '../client/client-map.js';
export { ClientOrMap } from '../client/client-or-map.js';
export type { MapChange, MapListener } from '../client/local-store.js';
export type { ClientEntityDefinition, ClientEntityRef } from '../client/entity-ref.js';
export type { SubscriptionFilter } from '../client/subscriptions.js';
export type { LiveQuery } from '../client/live-queries.js';
export type { QueryChange, QueryListener } from '../client/query-result.js';
export type { QueryFilter, FilterScalar } from '../protocol/query-filter.js';
export { MemoryStorageAdapter } from '../client/storage.js';
export { IndexedDbStorageAdapter } from './indexeddb-storage.js';
export type { PendingWrite, StorageAdapter } from '../client/storage.js';
export type { ClusterStats } from '../client/routing-table.js';
export { DEFAULT_CLIENT_CONFIG } from '../client/client-config.js';
export type { ClientConfig } from '../client/client-config.js';
export type { ClientSocket, SocketConstructor } from '../client/socket.js';
export type { KvValue } from '../protocol/map-values.js';
export { FlotillaError, isFlotillaError, ErrorCatalog } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
export { partitionOf } from '../core/partition.js';
export { murmur3Utf8, murmur3_x86_32 } from '../core/murmur3.js';
export { DEFAULT_PARTITION_COUNT } from '../core/model.js';
