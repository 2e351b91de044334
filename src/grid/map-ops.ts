/**
 * Client operations on a partition's owner, as carried in `ServiceRequest.payload`, and
 * their results. Each is a msgpack array whose first element is the op code, so the
 * read-only check can tell reads from writes without decoding. Ops and results are
 * decoded or sent as soon as they are made (a value is copied out when it is stored), so
 * they are packed without a copy.
 */
import { bad, readBin, readKey, readMapName, readUint, unpack, type KvSlot, type KvValue, type KvVersion } from './kv-codec.js';
import { packTransient } from '../protocol/msgpack.js';
import { checkOrKey, isOrMapStoreName, orMapStoreName } from './or-map-keys.js';
import type { LocalCall } from '../sharding/service.js';

/** A client operation on the owner of one partition. */
export type KvOp =
  | { readonly op: 'put'; readonly map: string; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'get'; readonly map: string; readonly key: string }
  /** The value with its version: `[value | nil, millis, counter, node]`, or nil when the key never existed here. */
  | { readonly op: 'getVersioned'; readonly map: string; readonly key: string }
  | { readonly op: 'delete'; readonly map: string; readonly key: string }
  | { readonly op: 'size'; readonly map: string }
  /** Live entries of the map in this partition, by key order, after `after` (a page). */
  | { readonly op: 'entries'; readonly map: string; readonly after: string | null }
  /** OR-map `map` (the user's name): add `value` under `key` with a fresh tag. */
  | { readonly op: 'orAdd'; readonly map: string; readonly key: string; readonly value: Uint8Array }
  /** OR-map: remove every observed add of `value` under `key` (of every value when null); answers how many. */
  | { readonly op: 'orRemove'; readonly map: string; readonly key: string; readonly value: Uint8Array | null }
  /** OR-map: the distinct values under `key`, in add order, as an array of encoded values. */
  | { readonly op: 'orGet'; readonly map: string; readonly key: string };

/** One page of a partition's entries: encoded values by key, and whether more follow. */
export interface EntriesPage {
  readonly entries: [string, Uint8Array][];
  readonly more: boolean;
}

/** Bytes of values and keys one entries page carries at most (well under a frame). */
export const ENTRIES_PAGE_BYTES_MAX = 1024 * 1024;

const opCodes = { put: 1, get: 2, delete: 3, size: 4, entries: 5, getVersioned: 6, orAdd: 7, orRemove: 8, orGet: 9 } as const;

/** Encode a client operation. */
export function encodeOp(op: KvOp): Uint8Array {
  switch (op.op) {
    case 'put':
      return packTransient([opCodes.put, op.map, op.key, op.value]);
    case 'get':
    case 'getVersioned':
    case 'delete':
      return packTransient([opCodes[op.op], op.map, op.key]);
    case 'size':
      return packTransient([opCodes.size, op.map]);
    case 'entries':
      return packTransient([opCodes.entries, op.map, op.after]);
    case 'orAdd':
    case 'orRemove':
      return packTransient([opCodes[op.op], op.map, op.key, op.value]);
    case 'orGet':
      return packTransient([opCodes.orGet, op.map, op.key]);
  }
}

/**
 * Whether an encoded operation may change the store, read from its first bytes without
 * decoding it (a fixarray whose first element is the op code). Anything that does not
 * look like a read counts as a write, so the read-only check errs on the safe side.
 */
export function isWriteOp(bytes: Uint8Array): boolean {
  const header = bytes[0];
  if (header === undefined || header < 0x91 || header > 0x9f) return true;
  return bytes[1] !== opCodes.get && bytes[1] !== opCodes.size && bytes[1] !== opCodes.entries && bytes[1] !== opCodes.getVersioned && bytes[1] !== opCodes.orGet;
}

/** Whether an operation may change the store (every op but the reads). */
export function opWrites(op: KvOp['op']): boolean {
  return op !== 'get' && op !== 'getVersioned' && op !== 'size' && op !== 'entries' && op !== 'orGet';
}

/**
 * An operation made on this node, routed as an object: the owner's handler here takes it
 * without the encode and decode of the byte path, and it is encoded only when it leaves.
 */
export class KvCall implements LocalCall {
  readonly isWrite: boolean;

  constructor(readonly op: KvOp) {
    this.isWrite = opWrites(op.op);
  }

  encode(): Uint8Array {
    return encodeOp(this.op);
  }
}

/**
 * The checks `decodeOp` makes, on an operation given as an object: the same bounds and
 * names, and the value copied as a decoded one is (the caller's bytes may be a view into
 * a frame that is reused).
 */
export function checkOp(op: KvOp, valueBytesMax: number): KvOp {
  const map = readMapName(op.map);
  if (op.op === 'orAdd' || op.op === 'orRemove' || op.op === 'orGet') {
    orMapStoreName(map);
    const key = checkOrKey(readKey(op.key));
    if (op.op === 'orGet') return { op: 'orGet', map, key };
    if (op.op === 'orAdd') return { op: 'orAdd', map, key, value: readBin(op.value, 'value', valueBytesMax) };
    return { op: 'orRemove', map, key, value: op.value === null ? null : readBin(op.value, 'value', valueBytesMax) };
  }
  if (isOrMapStoreName(map)) bad('map names may not start with \\u0001');
  switch (op.op) {
    case 'put':
      return { op: 'put', map, key: readKey(op.key), value: readBin(op.value, 'value', valueBytesMax) };
    case 'get':
    case 'getVersioned':
    case 'delete':
      return { op: op.op, map, key: readKey(op.key) };
    case 'size':
      return { op: 'size', map };
    case 'entries':
      return { op: 'entries', map, after: op.after === null ? null : readKey(op.after) };
  }
}

/** Decode a client operation; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeOp(bytes: Uint8Array, valueBytesMax: number): KvOp {
  const f = unpack(bytes, 'operation');
  if (!Array.isArray(f) || f.length < 2) bad('operation must be an array of an op code and a map name');
  const a = f as unknown[];
  const map = readMapName(a[1]);
  if (a[0] === opCodes.orAdd || a[0] === opCodes.orRemove || a[0] === opCodes.orGet) return decodeOrOp(a, map, valueBytesMax);
  // The OR-maps' internal names are reached only through OR ops.
  if (isOrMapStoreName(map)) bad('map names may not start with \\u0001');
  if (a[0] === opCodes.put && a.length === 4) return { op: 'put', map, key: readKey(a[2]), value: readBin(a[3], 'value', valueBytesMax) };
  if (a[0] === opCodes.get && a.length === 3) return { op: 'get', map, key: readKey(a[2]) };
  if (a[0] === opCodes.getVersioned && a.length === 3) return { op: 'getVersioned', map, key: readKey(a[2]) };
  if (a[0] === opCodes.delete && a.length === 3) return { op: 'delete', map, key: readKey(a[2]) };
  if (a[0] === opCodes.size && a.length === 2) return { op: 'size', map };
  if (a[0] === opCodes.entries && a.length === 3) return { op: 'entries', map, after: a[2] === null ? null : readKey(a[2]) };
  return bad('unknown operation');
}

function decodeOrOp(a: unknown[], map: string, valueBytesMax: number): KvOp {
  orMapStoreName(map);
  const key = checkOrKey(readKey(a[2]));
  if (a[0] === opCodes.orAdd && a.length === 4) return { op: 'orAdd', map, key, value: readBin(a[3], 'value', valueBytesMax) };
  if (a[0] === opCodes.orRemove && a.length === 4) return { op: 'orRemove', map, key, value: a[3] === null ? null : readBin(a[3], 'value', valueBytesMax) };
  if (a[0] === opCodes.orGet && a.length === 3) return { op: 'orGet', map, key };
  return bad('unknown OR-map operation');
}

/** Encode a small result (a boolean or a count). */
export function encodeResult(value: boolean | number): Uint8Array {
  return packTransient(value);
}

/** Decode a small result. */
export function decodeResult(bytes: Uint8Array | undefined): boolean | number | undefined {
  if (bytes === undefined) return undefined;
  const v = unpack(bytes, 'result');
  if (typeof v !== 'boolean' && typeof v !== 'number') bad('result must be a boolean or a number');
  return v;
}

/** Encode an entries page: `[more, key, value, key, value, ...]`. */
export function encodeEntriesPage(page: EntriesPage): Uint8Array {
  return packTransient([page.more, ...page.entries.flat()]);
}

/** Decode an entries page; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeEntriesPage(bytes: Uint8Array | undefined, valueBytesMax: number): EntriesPage {
  const f = bytes === undefined ? undefined : unpack(bytes, 'entries page');
  if (!Array.isArray(f) || f.length % 2 !== 1 || typeof f[0] !== 'boolean') bad('entries page must be [more, key, value, ...]');
  const a = f as unknown[];
  const entries: [string, Uint8Array][] = [];
  for (let i = 1; i < a.length; i += 2) entries.push([readKey(a[i]), readBin(a[i + 1], 'value', valueBytesMax)]);
  return { entries, more: a[0] as boolean };
}

/**
 * Encode the answer to a write that changed the store: `[result, millis, counter, node]`,
 * the result (nil for a put, true for a delete) and the version the write was stored at,
 * so a client can hold its later reads at or above its own write.
 */
export function encodeWriteAnswer(result: true | null, version: KvVersion): Uint8Array {
  return packTransient([result, version.millis, version.counter, version.node]);
}

/**
 * Decode a write's answer: a write answer, a bare result (a delete that found nothing, or
 * an owner from before write versions), or nothing. FLO_INVALID_ARGUMENT on anything else.
 */
export function decodeWriteAnswer(bytes: Uint8Array | undefined): { result: boolean | null; version: KvVersion | undefined } {
  if (bytes === undefined) return { result: null, version: undefined };
  const f = unpack(bytes, 'write answer');
  if (typeof f === 'boolean' || f === null) return { result: f, version: undefined };
  if (!Array.isArray(f) || f.length !== 4 || (f[0] !== null && typeof f[0] !== 'boolean')) bad('write answer must be [result, millis, counter, node]');
  const node = f[3];
  if (typeof node !== 'string' || node.length === 0) bad('write answer version node must be a node id');
  return { result: f[0] as boolean | null, version: { millis: readUint(f[1], 'version millis'), counter: readUint(f[2], 'version counter'), node } };
}

/** Encode a versioned read: the slot's value (nil for a tombstone) and version, or nil for no slot. */
export function encodeVersioned(slot: KvSlot | undefined): Uint8Array {
  return packTransient(slot === undefined ? null : [slot.value, slot.version.millis, slot.version.counter, slot.version.node]);
}

/** A map's entries, as `getMap(name).entries()` returns them. */
export type MapEntries = [string, KvValue][];
