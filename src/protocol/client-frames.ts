/**
 * The client protocol: frames between the smart client and a node's gateway over one
 * WebSocket, each one msgpack array whose first element is the frame code. Shared by
 * the gateway (server side) and `flotilla/client`, so both validate the same way:
 * every field is checked on decode, and anything malformed is FLO_DECODE_INVALID (or a
 * decode error of the msgpack layer), never a crash. The frames' shapes and bounds are in
 * client-frame-types.ts, re-exported here.
 */
import { FlotillaError } from '../core/errors.js';
import { packTransient, unpackBody } from './msgpack.js';
import { ERROR_CODE_BYTES_MAX, NODE_ID_BYTES_MAX, REASON_BYTES_MAX } from './limits.js';
import { checked, DECODE_CONTEXT, invalid, readArray, readBool, readBytes, readFields, readOptional, readString, readUint, type ReadContext } from './validate.js';
import { PARTITION_COUNT_MAX } from '../core/partition.js';

import {
  CLIENT_BATCH_OPS_MAX,
  CLIENT_CALL_ID_BYTES_MAX,
  CLIENT_ENTITY_NAME_BYTES_MAX,
  CLIENT_ENTITY_TYPE_BYTES_MAX,
  CLIENT_MAP_NODES_MAX,
  CLIENT_NAME_BYTES_MAX as NAME_BYTES_MAX,
  CLIENT_OP_KINDS as OP_KINDS,
  CLIENT_PREFIX_BYTES_MAX as PREFIX_BYTES_MAX,
  CLIENT_TOKEN_BYTES_MAX,
  CLIENT_URL_BYTES_MAX,
  type ClientCall,
  type ClientFrame,
  type ClientNode,
  type ClientOp,
  type ClientPartitionMap,
  type ClientSubscription,
  type ServerFrame,
} from './client-frame-types.js';

export * from './client-frame-types.js';

const C = { AUTH: 1, OP: 2, BATCH: 3, MAP_REQUEST: 4, SUBSCRIBE: 5, UNSUBSCRIBE: 6, CALL: 7 } as const;
const S = { AUTH_REQUIRED: 101, AUTH_ACK: 102, AUTH_FAIL: 103, PARTITION_MAP: 104, RESULT: 105, ERROR: 106, EVENT: 107, RESULTS: 108, EVENTS_DROPPED: 109 } as const;

/** Results in one RESULTS frame, at most. */
export const CLIENT_RESULTS_MAX = 1024;

/** Frames are sent as soon as they are encoded: no copy (see `packTransient`). */
function pack(value: unknown): Uint8Array {
  return packTransient(value);
}

function flatOp(op: ClientOp): unknown[] {
  return [op.id, op.map, OP_KINDS.indexOf(op.op), op.key, op.value, op.forward];
}

/** Encode a client frame. */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  switch (frame.type) {
    case 'AUTH':
      return pack([C.AUTH, frame.token]);
    case 'OP': {
      const op = frame.op;
      return pack([C.OP, op.id, op.map, OP_KINDS.indexOf(op.op), op.key, op.value, op.forward]);
    }
    case 'BATCH':
      return pack([C.BATCH, frame.ops.map(flatOp)]);
    case 'MAP_REQUEST':
      return pack([C.MAP_REQUEST, frame.version]);
    case 'SUBSCRIBE': {
      const { id, map, key, prefix, since, filter, relay } = frame.sub;
      const fields = [C.SUBSCRIBE, id, map, key, prefix];
      if (since === undefined) return pack(fields);
      const cursor = since === null ? null : [...since].flat();
      if (relay === true) return pack([...fields, cursor, filter ?? null, true]);
      return pack(filter === undefined ? [...fields, cursor] : [...fields, cursor, filter]);
    }
    case 'UNSUBSCRIBE':
      return pack([C.UNSUBSCRIBE, frame.id]);
    case 'CALL': {
      const c = frame.call;
      return pack([C.CALL, c.id, c.entityType, c.entityId, c.handler, c.args, c.forward, c.callId]);
    }
  }
}

function readCall(ctx: ReadContext, argsBytesMax: number, f: readonly unknown[]): ClientCall {
  return {
    id: readUint(f[0], 'id'),
    entityType: readString(f[1], 'entityType', CLIENT_ENTITY_TYPE_BYTES_MAX, 1),
    entityId: readString(f[2], 'entityId', CLIENT_ENTITY_NAME_BYTES_MAX, 1),
    handler: readString(f[3], 'handler', CLIENT_ENTITY_NAME_BYTES_MAX, 1),
    args: readBytes(ctx, f[4], 'args', argsBytesMax),
    forward: readBool(f[5], 'forward'),
    callId: readString(f[6], 'callId', CLIENT_CALL_ID_BYTES_MAX, 1),
  };
}

function readSubscription(f: readonly unknown[]): ClientSubscription {
  const key = readOptional(f[2], (k) => readString(k, 'key', NAME_BYTES_MAX, 1)) ?? null;
  const prefix = readOptional(f[3], (k) => readString(k, 'prefix', PREFIX_BYTES_MAX, 1)) ?? null;
  if (key !== null && prefix !== null) invalid('prefix', 'nil when a key is given');
  const sub = { id: readUint(f[0], 'id'), map: readString(f[1], 'map', NAME_BYTES_MAX, 1), key, prefix };
  // Four fields: a client from before resumable subscriptions; six: a live query; seven: relayed (filter nil when none).
  if (f.length === 4) return sub;
  const resumable = { ...sub, since: readOptional(f[4], readCursor) ?? null };
  if (f.length === 7) {
    const relayed = { ...resumable, relay: readBool(f[6], 'relay') };
    return f[5] === null ? relayed : { ...relayed, filter: f[5] };
  }
  return f.length === 6 ? { ...resumable, filter: f[5] } : resumable;
}

/** A cursor as `[partition, millis, ...]`. */
function readCursor(v: unknown): Map<number, number> {
  const flat = readArray(v, 'since', 2 * PARTITION_COUNT_MAX, (x) => x);
  if (flat.length % 2 !== 0) invalid('since', 'partition, millis pairs');
  const cursor = new Map<number, number>();
  for (let i = 0; i < flat.length; i += 2) cursor.set(readUint(flat[i], 'since partition', PARTITION_COUNT_MAX - 1), readUint(flat[i + 1], 'since millis'));
  return cursor;
}

/** Reading ops: like DECODE_CONTEXT, but values stay views into the frame (see `ClientOp.value`). */
const OP_CONTEXT: ReadContext = { ...DECODE_CONTEXT, copyBytes: false };

function readOp(ctx: ReadContext, valueBytesMax: number, v: unknown): ClientOp {
  const f = readFields(v, 6);
  const op = OP_KINDS[readUint(f[2], 'op', OP_KINDS.length - 1)]!;
  const key = readOptional(f[3], (k) => readString(k, 'key', NAME_BYTES_MAX, 1)) ?? null;
  const value = readOptional(f[4], (b) => readBytes(ctx, b, 'value', valueBytesMax)) ?? null;
  const spansMap = op === 'size' || op === 'entries';
  if (spansMap !== (key === null)) invalid('key', spansMap ? 'nil for size and entries' : 'a key');
  if (op !== 'orRemove' && (op === 'put' || op === 'orAdd') !== (value !== null)) invalid('value', op === 'put' || op === 'orAdd' ? `bytes for ${op}` : 'nil');
  return { id: readUint(f[0], 'id'), map: readString(f[1], 'map', NAME_BYTES_MAX, 1), op, key, value, forward: readBool(f[5], 'forward') };
}

function unpackArray(bytes: Uint8Array): unknown[] {
  const v = unpackBody(bytes);
  if (!Array.isArray(v) || v.length === 0) throw new FlotillaError('FLO_DECODE_INVALID', 'a client frame is a non-empty array');
  return v as unknown[];
}

/** Decode a frame from a client; values of puts and the arguments of calls are bounded by `valueBytesMax`. */
export function decodeClientFrame(bytes: Uint8Array, valueBytesMax: number): ClientFrame {
  const a = unpackArray(bytes);
  return checked(DECODE_CONTEXT, 'client frame', (): ClientFrame => {
    const rest = a.slice(1);
    switch (a[0]) {
      case C.AUTH:
        return { type: 'AUTH', token: readString(readFields(rest, 1)[0], 'token', CLIENT_TOKEN_BYTES_MAX, 1) };
      case C.OP:
        return { type: 'OP', op: readOp(OP_CONTEXT, valueBytesMax, rest) };
      case C.BATCH:
        return { type: 'BATCH', ops: readArray(readFields(rest, 1)[0], 'ops', CLIENT_BATCH_OPS_MAX, (o) => readOp(OP_CONTEXT, valueBytesMax, o)) };
      case C.MAP_REQUEST:
        return { type: 'MAP_REQUEST', version: readUint(readFields(rest, 1)[0], 'version') };
      case C.SUBSCRIBE:
        return { type: 'SUBSCRIBE', sub: readSubscription(readFields(rest, rest.length >= 4 && rest.length <= 7 ? rest.length : 5)) };
      case C.UNSUBSCRIBE:
        return { type: 'UNSUBSCRIBE', id: readUint(readFields(rest, 1)[0], 'id') };
      case C.CALL:
        return { type: 'CALL', call: readCall(DECODE_CONTEXT, valueBytesMax, readFields(rest, 7)) };
      default:
        return invalid('type', 'a client frame code');
    }
  });
}

/** A message cut to fit REASON_BYTES_MAX in UTF-8, never splitting a surrogate pair. */
function clip(message: string): string {
  const cut = message.slice(0, REASON_BYTES_MAX / 4);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Encode a gateway frame. */
export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  switch (frame.type) {
    case 'AUTH_REQUIRED':
      return pack([S.AUTH_REQUIRED]);
    case 'AUTH_ACK':
      return pack([S.AUTH_ACK, frame.nodeId, frame.expiresAt]);
    case 'AUTH_FAIL':
      return pack([S.AUTH_FAIL, frame.code, clip(frame.message)]);
    case 'PARTITION_MAP': {
      const m = frame.map;
      const fields = [S.PARTITION_MAP, m.version, m.partitionCount, m.owners, m.nodes.map((n) => [n.nodeId, n.url])];
      // Written only when false: clients from before the field read a writable node's map as they always did.
      return pack(m.writable ? fields : [...fields, false]);
    }
    case 'RESULT':
      return pack([S.RESULT, frame.id, frame.payload]);
    case 'RESULTS':
      return pack([S.RESULTS, frame.results.flatMap((r) => [r.id, r.payload])]);
    case 'EVENT': {
      const fields = [S.EVENT, frame.id, frame.key, frame.value, frame.version.millis, frame.version.counter, frame.version.node];
      return pack(frame.mark === undefined ? fields : [...fields, frame.mark.partition, frame.mark.millis]);
    }
    case 'EVENTS_DROPPED':
      return pack([S.EVENTS_DROPPED, frame.id, frame.code, clip(frame.message)]);
    case 'ERROR':
      return pack([S.ERROR, frame.id, frame.code, clip(frame.message), frame.owner === null ? null : [frame.owner.nodeId, frame.owner.url], frame.mapVersion]);
  }
}

function readNode(v: unknown): ClientNode {
  const f = readFields(v, 2);
  return { nodeId: readString(f[0], 'nodeId', NODE_ID_BYTES_MAX, 1), url: readString(f[1], 'url', CLIENT_URL_BYTES_MAX, 1) };
}

function readMap(f: readonly unknown[]): ClientPartitionMap {
  const partitionCount = readUint(f[1], 'partitionCount', PARTITION_COUNT_MAX, 1);
  const nodes = readArray(f[3], 'nodes', CLIENT_MAP_NODES_MAX, readNode);
  const owners = readArray(f[2], 'owners', PARTITION_COUNT_MAX, (o) => {
    if (o !== -1 && (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o >= nodes.length)) invalid('', 'a node index or -1');
    return o as number;
  });
  if (owners.length !== partitionCount) invalid('owners', `${partitionCount} entries`);
  // Absent in frames of nodes from before the field, which had no other verdict to give.
  const writable = f.length === 4 ? true : readBool(f[4], 'writable');
  return { version: readUint(f[0], 'version'), partitionCount, owners, nodes, writable };
}

/** PARTITION_MAP's fields: four from nodes before `writable`, five since. */
function readMapFields(rest: readonly unknown[]): readonly unknown[] {
  return readFields(rest, rest.length === 4 ? 4 : 5);
}

/** Decode a frame from a gateway (`valueBytesMax` bounds result payloads). */
export function decodeServerFrame(bytes: Uint8Array, valueBytesMax: number): ServerFrame {
  const a = unpackArray(bytes);
  return checked(DECODE_CONTEXT, 'server frame', (): ServerFrame => {
    const rest = a.slice(1);
    switch (a[0]) {
      case S.AUTH_REQUIRED:
        readFields(rest, 0);
        return { type: 'AUTH_REQUIRED' };
      case S.AUTH_ACK: {
        const f = readFields(rest, 2);
        return { type: 'AUTH_ACK', nodeId: readString(f[0], 'nodeId', NODE_ID_BYTES_MAX, 1), expiresAt: readOptional(f[1], (e) => readUint(e, 'expiresAt')) ?? null };
      }
      case S.AUTH_FAIL: {
        const f = readFields(rest, 2);
        return { type: 'AUTH_FAIL', code: readString(f[0], 'code', ERROR_CODE_BYTES_MAX, 1), message: readString(f[1], 'message', REASON_BYTES_MAX) };
      }
      case S.PARTITION_MAP:
        return { type: 'PARTITION_MAP', map: readMap(readMapFields(rest)) };
      case S.RESULT: {
        const f = readFields(rest, 2);
        return { type: 'RESULT', id: readUint(f[0], 'id'), payload: readOptional(f[1], (b) => readBytes(DECODE_CONTEXT, b, 'payload', valueBytesMax)) ?? null };
      }
      case S.RESULTS: {
        const flat = readArray(readFields(rest, 1)[0], 'results', 2 * CLIENT_RESULTS_MAX, (v) => v);
        if (flat.length % 2 !== 0) invalid('results', 'id, payload pairs');
        const results: { id: number; payload: Uint8Array | null }[] = [];
        for (let i = 0; i < flat.length; i += 2) {
          results.push({ id: readUint(flat[i], 'id'), payload: readOptional(flat[i + 1], (b) => readBytes(DECODE_CONTEXT, b, 'payload', valueBytesMax)) ?? null });
        }
        return { type: 'RESULTS', results };
      }
      case S.EVENT: {
        // Six fields, or eight with the mark of a resumable subscription.
        const f = readFields(rest, rest.length === 6 ? 6 : 8);
        const event = {
          type: 'EVENT' as const,
          id: readUint(f[0], 'id'),
          key: readString(f[1], 'key', NAME_BYTES_MAX, 1),
          value: readOptional(f[2], (b) => readBytes(DECODE_CONTEXT, b, 'value', valueBytesMax)) ?? null,
          version: { millis: readUint(f[3], 'millis'), counter: readUint(f[4], 'counter'), node: readString(f[5], 'node', NODE_ID_BYTES_MAX, 1) },
        };
        return f.length === 6 ? event : { ...event, mark: { partition: readUint(f[6], 'partition', PARTITION_COUNT_MAX - 1), millis: readUint(f[7], 'mark') } };
      }
      case S.EVENTS_DROPPED: {
        const f = readFields(rest, 3);
        return { type: 'EVENTS_DROPPED', id: readUint(f[0], 'id'), code: readString(f[1], 'code', ERROR_CODE_BYTES_MAX, 1), message: readString(f[2], 'message', REASON_BYTES_MAX) };
      }
      case S.ERROR: {
        const f = readFields(rest, 5);
        return {
          type: 'ERROR',
          id: readUint(f[0], 'id'),
          code: readString(f[1], 'code', ERROR_CODE_BYTES_MAX, 1),
          message: readString(f[2], 'message', REASON_BYTES_MAX),
          owner: readOptional(f[3], readNode) ?? null,
          mapVersion: readOptional(f[4], (v) => readUint(v, 'mapVersion')) ?? null,
        };
      }
      default:
        return invalid('type', 'a server frame code');
    }
  });
}
