/**
 * The client protocol's shapes and bounds: the frames a smart client and a gateway
 * exchange, the operations, calls, subscriptions and partition maps they carry, and the
 * limits every decoder enforces. Their codec is client-frames.ts, which re-exports all of
 * this.
 */

/** Longest token in an AUTH frame, in bytes. */
export const CLIENT_TOKEN_BYTES_MAX = 8192;

/** Largest frame a connection may send before its AUTH_ACK (an AUTH frame with a long token fits). */
export const CLIENT_PREAUTH_FRAME_BYTES_MAX = 16 * 1024;

/** Operations in one BATCH frame, at most. */
export const CLIENT_BATCH_OPS_MAX = 256;

/** Longest client-facing URL a node advertises, in bytes. */
export const CLIENT_URL_BYTES_MAX = 512;

/** Nodes in one partition map, at most. */
export const CLIENT_MAP_NODES_MAX = 10_000;

/** Longest map name or key on the client protocol, in bytes (the map store's bounds). */
export const CLIENT_NAME_BYTES_MAX = 1024;

/** What a client op does. */
export type ClientOpKind = 'put' | 'get' | 'delete' | 'size' | 'entries' | 'orAdd' | 'orRemove' | 'orGet';
export const CLIENT_OP_KINDS: readonly ClientOpKind[] = ['put', 'get', 'delete', 'size', 'entries', 'orAdd', 'orRemove', 'orGet'];

/** One map operation from a client. */
export interface ClientOp {
  /** The client's id of the call; echoed by RESULT or ERROR. */
  readonly id: number;
  readonly map: string;
  readonly op: ClientOpKind;
  /** The key (null for size and entries, which span the map). */
  readonly key: string | null;
  /**
   * The msgpack-encoded value of a put or an OR-map add (and of an OR-map remove of one
   * value); null otherwise. Decoded, a view into the received frame, not a copy: the
   * gateway packs it into the owner's request in the turn it arrives (copy it to keep it).
   */
  readonly value: Uint8Array | null;
  /** Ask a node that is not the key's owner to forward the op instead of answering NOT_OWNER. */
  readonly forward: boolean;
}

/** Longest entity type name on the client protocol, in bytes (`defineEntity` allows 128 characters of ASCII). */
export const CLIENT_ENTITY_TYPE_BYTES_MAX = 128;

/** Longest entity id or handler name on the client protocol, in bytes. */
export const CLIENT_ENTITY_NAME_BYTES_MAX = 1024;

/** Longest call id a client may give, in bytes. */
export const CLIENT_CALL_ID_BYTES_MAX = 64;

/** An entity call from a client: `type/id.handler(...args)`, routed like a keyed op on `type/id`. */
export interface ClientCall {
  /** The client's id of the request; echoed by RESULT or ERROR. */
  readonly id: number;
  readonly entityType: string;
  readonly entityId: string;
  readonly handler: string;
  /** The msgpack-encoded argument array. */
  readonly args: Uint8Array;
  /** Ask a node that is not the entity's owner to forward the call instead of answering NOT_OWNER. */
  readonly forward: boolean;
  /** The same on every retry of one logical call, so the owner answers a retry from the first attempt. */
  readonly callId: string;
}

/** A node as clients see it: its id and the URL its gateway serves clients on. */
export interface ClientNode {
  readonly nodeId: string;
  readonly url: string;
}

/** The HLC version of a change, so a client can order events that reach it through different nodes. */
export interface EventVersion {
  readonly millis: number;
  readonly counter: number;
  readonly node: string;
}

/** The partition map pushed to clients: who owns each partition, and where to reach them. */
export interface ClientPartitionMap {
  /** The partition table version it was built from. */
  readonly version: number;
  readonly partitionCount: number;
  /** Per partition, the owner's index in `nodes`, or -1 when the partition has no reachable owner. */
  readonly owners: readonly number[];
  readonly nodes: readonly ClientNode[];
  /**
   * The sending node's own quorum verdict: true when it may accept writes, false on the
   * minority side of a split. A client prefers a writable node's map whatever the versions,
   * since a read-only side keeps publishing tables of its own that writes cannot use.
   */
  readonly writable: boolean;
}

/** A subscription to a map's changes: every key, one key, or keys with a prefix. */
export interface ClientSubscription {
  /** The client's id of the subscribe call (answered RESULT or ERROR), then of its events. */
  readonly id: number;
  readonly map: string;
  readonly key: string | null;
  readonly prefix: string | null;
  /**
   * Resumable subscriptions only (absent: a subscription of a client from before them,
   * whose events carry no marks). Null: start live, nothing replayed. A cursor (partition
   * to HLC millis): replay, from the node's map state, the changes of each partition it
   * holds above its cursor (every change of a partition the cursor does not list).
   */
  readonly since?: ReadonlyMap<number, number> | null;
  /**
   * A live query (resumable only): the filter on values (query-filter.ts), carried as
   * decoded so that the gateway can refuse a bad one with FLO_INVALID_ARGUMENT for this
   * subscription alone. Its events say for each change whether the key is in the result.
   */
  readonly filter?: unknown;
  /**
   * Resumable only: the client reaches the cluster through this one node (`serverUrl`), so
   * the node relays the changes of the partitions it does not own from their owners. Sent
   * as a seventh field (the filter field nil when there is none); absent, false.
   */
  readonly relay?: boolean;
}

/**
 * The low-water mark of a resumable subscription's event: every write to `partition`
 * this owner stored at HLC millis up to `millis` has been sent (or failed) before it.
 */
export interface EventMark {
  readonly partition: number;
  readonly millis: number;
}

/** Longest subscription prefix, in bytes (a key's bound). */
export const CLIENT_PREFIX_BYTES_MAX = CLIENT_NAME_BYTES_MAX;

/** Frames a client sends. */
export type ClientFrame =
  | { readonly type: 'AUTH'; readonly token: string }
  | { readonly type: 'SUBSCRIBE'; readonly sub: ClientSubscription }
  | { readonly type: 'UNSUBSCRIBE'; readonly id: number }
  | { readonly type: 'OP'; readonly op: ClientOp }
  | { readonly type: 'BATCH'; readonly ops: readonly ClientOp[] }
  | { readonly type: 'CALL'; readonly call: ClientCall }
  | { readonly type: 'MAP_REQUEST'; readonly version: number };

/** Frames a gateway sends. */
export type ServerFrame =
  | { readonly type: 'AUTH_REQUIRED' }
  | { readonly type: 'AUTH_ACK'; readonly nodeId: string; readonly expiresAt: number | null }
  | { readonly type: 'AUTH_FAIL'; readonly code: string; readonly message: string }
  | { readonly type: 'PARTITION_MAP'; readonly map: ClientPartitionMap }
  | { readonly type: 'RESULT'; readonly id: number; readonly payload: Uint8Array | null }
  /** Several RESULTs in one frame (answers that were ready in the same turn). */
  | { readonly type: 'RESULTS'; readonly results: readonly { readonly id: number; readonly payload: Uint8Array | null }[] }
  /** A change applied by this node as the key's owner, for subscription `id`; `value` null for a delete. */
  | { readonly type: 'EVENT'; readonly id: number; readonly key: string; readonly value: Uint8Array | null; readonly version: EventVersion; readonly mark?: EventMark }
  /** Events of resumable subscription `id` were lost (a slow connection, or deletes collected past the cursor): resync. */
  | { readonly type: 'EVENTS_DROPPED'; readonly id: number; readonly code: string; readonly message: string }
  | {
      readonly type: 'ERROR';
      readonly id: number;
      readonly code: string;
      readonly message: string;
      /** For FLO_NOT_OWNER: the owner this node knows, to retry there. */
      readonly owner: ClientNode | null;
      /** The sender's partition table version, so a client with an older map refreshes. */
      readonly mapVersion: number | null;
    };
