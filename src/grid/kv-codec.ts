/**
 * Byte formats of the map store: user values, versioned records (snapshot chunks and
 * merge input, tombstones included), change records (migration deltas and replication to
 * backups). All are plain msgpack arrays; decoding goes through the protocol's scanning
 * unpacker and checks every field, so bytes from a peer can only ever fail with
 * FLO_INVALID_ARGUMENT. Client operations are in `map-ops.ts`.
 */
import { FlotillaError } from '../core/errors.js';
import { packBody } from '../protocol/msgpack.js';
import { unpackValue } from '../protocol/map-values.js';
import { NODE_ID_BYTES_MAX } from '../protocol/limits.js';
import { utf8ByteLength } from '../protocol/validate.js';

export { checkEncodedValue, decodeValue, encodeValue, type KvValue } from '../protocol/map-values.js';

/** The version of an entry: an HLC timestamp, flattened. Ordered by millis, counter, node. */
export interface KvVersion {
  readonly millis: number;
  readonly counter: number;
  readonly node: string;
}

/** One stored entry: the encoded value and the version that wrote it. */
export interface KvEntry {
  readonly value: Uint8Array;
  readonly version: KvVersion;
}

/** What the store keeps per key: a live entry, or a tombstone (`value` null) recording a delete. */
export interface KvSlot {
  readonly value: Uint8Array | null;
  readonly version: KvVersion;
  /** Reads of the entry on its owner (carried by chunks and merges for `higher-hits`); absent means 0. */
  readonly hits?: number;
  /**
   * The HLC millis at which a split-brain merge stored this slot on this node, when later
   * than its version: a replay from a cursor taken before the merge must still show it.
   * Local to the node (chunks and merges never carry it).
   */
  readonly arrived?: number;
}

/** Where a slot stands for a replay's cursor: its version's millis, or its arrival by merge when later. */
export function stampOf(slot: KvSlot): number {
  return slot.arrived !== undefined && slot.arrived > slot.version.millis ? slot.arrived : slot.version.millis;
}

/** One key of one map as it travels in chunks and merges (a tombstone has `value` null). */
export interface KvRecord {
  readonly map: string;
  readonly key: string;
  readonly slot: KvSlot;
}

/**
 * One change to a partition, as captured for migrations and replicated to backups.
 * `map` absent means the default map (the one behind `node.kv` and `/kv`).
 */
export type KvChange =
  | { readonly kind: 'put'; readonly map?: string; readonly key: string; readonly entry: KvEntry }
  | { readonly kind: 'delete'; readonly map?: string; readonly key: string; readonly version: KvVersion };

/** The map behind `node.kv` and the admin `/kv` routes. */
export const DEFAULT_MAP = 'default';

/** Longest key, in UTF-8 bytes. */
export const KV_KEY_BYTES_MAX = 1024;

/** Longest map name, in UTF-8 bytes. */
export const MAP_NAME_BYTES_MAX = 256;

/**
 * Per-entry bytes beyond the map name, key, value and version node when sizing chunks:
 * msgpack headers of the map (3), key (3) and value (5), millis as float64 (9), counter
 * (3), node header (2), hits (5), rounded up.
 */
export const KV_ENTRY_OVERHEAD_BYTES = 33;

const PUT = 1;
const DELETE = 2;

/** -1, 0 or 1 comparing two versions. */
export function compareVersions(a: KvVersion, b: KvVersion): -1 | 0 | 1 {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/** The map a change belongs to. */
export function mapOfChange(change: KvChange): string {
  return change.map ?? DEFAULT_MAP;
}

/** The version a change carries. */
export function versionOfChange(change: KvChange): KvVersion {
  return change.kind === 'put' ? change.entry.version : change.version;
}

/** Bytes a record takes in a chunk, at most (the encoded size, or a little more). */
export function recordSize(map: string, key: string, slot: KvSlot): number {
  return utf8ByteLength(map) + utf8ByteLength(key) + (slot.value?.byteLength ?? 0) + utf8ByteLength(slot.version.node) + KV_ENTRY_OVERHEAD_BYTES;
}

/** Bytes an entry of the default map takes in a chunk, at most. */
export function entrySize(key: string, entry: KvSlot): number {
  return recordSize(DEFAULT_MAP, key, entry);
}

/** A fresh copy of msgpack output (the packer reuses its buffer). */
export function pack(value: unknown): Uint8Array {
  return new Uint8Array(packBody(value));
}

/** Throw FLO_INVALID_ARGUMENT about `what`. */
export function bad(what: string): never {
  throw new FlotillaError('FLO_INVALID_ARGUMENT', `map: ${what}`);
}

/** Unpack untrusted bytes; every failure is FLO_INVALID_ARGUMENT. */
export const unpack = unpackValue;

function readName(v: unknown, maxBytes: number, what: string): string {
  const bytes = typeof v === 'string' && v.length <= maxBytes ? utf8ByteLength(v) : -1;
  if (bytes < 1 || bytes > maxBytes) bad(`${what} are non-empty well-formed strings of at most ${maxBytes} bytes`);
  return v as string;
}

/** Read a key from the wire (non-empty, well-formed, bounded). */
export function readKey(v: unknown): string {
  return readName(v, KV_KEY_BYTES_MAX, 'keys');
}

/** Read a map name from the wire (non-empty, well-formed, bounded). */
export function readMapName(v: unknown): string {
  return readName(v, MAP_NAME_BYTES_MAX, 'map names');
}

/** Check a key given by a caller (same rule as on the wire). */
export function checkKey(key: string): string {
  return readKey(key);
}

/** Check a map name given by a caller (same rule as on the wire; `\u0001` starts only internal names). */
export function checkMapName(name: string): string {
  readMapName(name);
  if (name.startsWith('\u0001')) bad('map names may not start with \\u0001');
  return name;
}

/** Read a non-negative safe integer. */
export function readUint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what} must be a non-negative integer`);
  return v;
}

/** Read bytes of at most `maxBytes`, copied out of the frame. */
export function readBin(v: unknown, what: string, maxBytes: number): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(`${what} must be bytes`);
  if (v.byteLength > maxBytes) bad(`${what} exceeds ${maxBytes} bytes`);
  return new Uint8Array(v);
}

/** Read `[millis, counter, node]` at `at` of `f`. */
export function readVersion(f: readonly unknown[], at: number): KvVersion {
  const node = f[at + 2];
  if (typeof node !== 'string' || node.length === 0 || utf8ByteLength(node) > NODE_ID_BYTES_MAX) bad('version node must be a node id');
  return { millis: readUint(f[at], 'version millis'), counter: readUint(f[at + 1], 'version counter'), node };
}

function readArray(bytes: Uint8Array, what: string, stride: number): unknown[] {
  const v = unpack(bytes, what);
  if (!Array.isArray(v) || v.length % stride !== 0) bad(`${what} must be an array of ${stride}-field records`);
  return v as unknown[];
}

/** Records as one chunk: `[map, key, value | nil, millis, counter, node, hits]` repeated. */
export function encodeRecords(records: readonly KvRecord[]): Uint8Array {
  const flat: unknown[] = [];
  for (const { map, key, slot } of records) flat.push(map, key, slot.value, slot.version.millis, slot.version.counter, slot.version.node, slot.hits ?? 0);
  return pack(flat);
}

/** Decode a chunk of records; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeRecords(bytes: Uint8Array, valueBytesMax: number): KvRecord[] {
  const f = readArray(bytes, 'chunk', 7);
  const out: KvRecord[] = [];
  for (let i = 0; i < f.length; i += 7) {
    const value = f[i + 2] === null ? null : readBin(f[i + 2], 'value', valueBytesMax);
    const hits = readUint(f[i + 6], 'hits');
    out.push({ map: readMapName(f[i]), key: readKey(f[i + 1]), slot: hits === 0 ? { value, version: readVersion(f, i + 3) } : { value, version: readVersion(f, i + 3), hits } });
  }
  return out;
}

/** Live entries of the default map as one chunk (a convenience over `encodeRecords`). */
export function encodeEntries(entries: readonly (readonly [string, KvEntry])[]): Uint8Array {
  return encodeRecords(entries.map(([key, slot]) => ({ map: DEFAULT_MAP, key, slot })));
}

function flatChange(c: KvChange): unknown[] {
  const v = versionOfChange(c);
  return [c.kind === 'put' ? PUT : DELETE, mapOfChange(c), c.key, c.kind === 'put' ? c.entry.value : null, v.millis, v.counter, v.node];
}

function readChange(f: readonly unknown[], i: number, valueBytesMax: number): KvChange {
  const map = readMapName(f[i + 1]);
  const key = readKey(f[i + 2]);
  const version = readVersion(f, i + 4);
  const named = map === DEFAULT_MAP ? {} : { map };
  if (f[i] === PUT) return { kind: 'put', ...named, key, entry: { value: readBin(f[i + 3], 'value', valueBytesMax), version } };
  if (f[i] === DELETE && f[i + 3] === null) return { kind: 'delete', ...named, key, version };
  return bad('change kind must be put (1) with a value or delete (2) without');
}

/** Changes as one batch: `[kind, map, key, value | nil, millis, counter, node]` repeated. */
export function encodeChanges(changes: readonly KvChange[]): Uint8Array {
  return pack(changes.flatMap(flatChange));
}

/** Decode a batch of changes; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeChanges(bytes: Uint8Array, valueBytesMax: number): KvChange[] {
  const f = readArray(bytes, 'delta', 7);
  const out: KvChange[] = [];
  for (let i = 0; i < f.length; i += 7) out.push(readChange(f, i, valueBytesMax));
  return out;
}

/**
 * A change sent by the owner to a backup: the change, and the owner's epoch and table
 * version for the partition (`[epoch, tableVersion, kind, map, key, value | nil, millis,
 * counter, node]`), so a backup can refuse a deposed owner.
 */
export interface KvReplication {
  readonly epoch: number;
  readonly tableVersion: number;
  readonly change: KvChange;
}

/** Encode a replication message. */
export function encodeReplication(r: KvReplication): Uint8Array {
  return pack([r.epoch, r.tableVersion, ...flatChange(r.change)]);
}

/** Decode a replication message; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeReplication(bytes: Uint8Array, valueBytesMax: number): KvReplication {
  const f = unpack(bytes, 'replication');
  if (!Array.isArray(f) || f.length !== 9) bad('replication must be an array of 9 fields');
  const a = f as unknown[];
  return { epoch: readUint(a[0], 'epoch'), tableVersion: readUint(a[1], 'tableVersion'), change: readChange(a, 2, valueBytesMax) };
}
