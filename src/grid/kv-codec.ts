/**
 * Byte formats of the KV store: user values, versioned entries (snapshot chunks and merge
 * input), change records (migration deltas and replication to backups) and the client
 * operations carried in `ServiceRequest.payload`. All are plain msgpack arrays; decoding
 * goes through the protocol's scanning unpacker and checks every field, so bytes from a
 * peer can only ever fail with FLO_INVALID_ARGUMENT.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import { packBody, unpackBody } from '../protocol/msgpack.js';
import { NODE_ID_BYTES_MAX } from '../protocol/limits.js';
import { utf8ByteLength } from '../protocol/validate.js';

/** What a KV value may be: anything msgpack carries without extensions (JSON-like, plus bytes). */
export type KvValue = null | boolean | number | string | Uint8Array | readonly KvValue[] | { readonly [key: string]: KvValue };

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

/** One change to a partition, as captured for migrations and replicated to backups. */
export type KvChange =
  | { readonly kind: 'put'; readonly key: string; readonly entry: KvEntry }
  | { readonly kind: 'delete'; readonly key: string; readonly version: KvVersion };

/** A client operation on the owner. */
export type KvOp =
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'size' };

/** Longest key, in UTF-8 bytes. */
export const KV_KEY_BYTES_MAX = 1024;

/**
 * Per-entry bytes beyond the key, value and version node when sizing chunks: msgpack
 * headers of the key (3) and value (5), millis as float64 (9), counter (3), node header (2),
 * rounded up.
 */
export const KV_ENTRY_OVERHEAD_BYTES = 24;

const PUT = 1;
const DELETE = 2;
const opCodes = { put: 1, get: 2, delete: 3, size: 4 } as const;

/** -1, 0 or 1 comparing two versions. */
export function compareVersions(a: KvVersion, b: KvVersion): -1 | 0 | 1 {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/** Bytes an entry takes in a chunk, at most (the encoded size, or a little more). */
export function entrySize(key: string, entry: KvEntry): number {
  return utf8ByteLength(key) + entry.value.byteLength + utf8ByteLength(entry.version.node) + KV_ENTRY_OVERHEAD_BYTES;
}

/** A fresh copy of msgpack output (the packer reuses its buffer). */
function pack(value: unknown): Uint8Array {
  return new Uint8Array(packBody(value));
}

function bad(what: string): never {
  throw new FlotillaError('FLO_INVALID_ARGUMENT', `kv: ${what}`);
}

/** Unpack untrusted bytes; every failure is FLO_INVALID_ARGUMENT. */
function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return unpackBody(bytes);
  } catch (error) {
    if (isFlotillaError(error)) bad(`${what} is not msgpack (${error.code})`);
    throw error;
  }
}

/** Encode a user value. Throws FLO_INVALID_ARGUMENT for what msgpack cannot carry as a KvValue. */
export function encodeValue(value: KvValue): Uint8Array {
  if (value === undefined) bad('undefined is not a value (use kvDelete)');
  try {
    return pack(value);
  } catch {
    return bad('value cannot be encoded');
  }
}

/** Decode a stored value; maps come back as plain objects. */
export function decodeValue(bytes: Uint8Array): KvValue {
  return toPlain(unpack(bytes, 'value'));
}

function toPlain(v: unknown): KvValue {
  if (v instanceof Map) {
    const out: Record<string, KvValue> = {};
    for (const [k, item] of v) {
      // defineProperty, so a "__proto__" key stays an ordinary own property.
      Object.defineProperty(out, String(k), { value: toPlain(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as KvValue;
}

function readKey(v: unknown): string {
  const bytes = typeof v === 'string' && v.length <= KV_KEY_BYTES_MAX ? utf8ByteLength(v) : -1;
  if (bytes < 1 || bytes > KV_KEY_BYTES_MAX) bad(`keys are non-empty well-formed strings of at most ${KV_KEY_BYTES_MAX} bytes`);
  return v as string;
}

/** Check a key given by a caller (same rule as on the wire). */
export function checkKey(key: string): string {
  return readKey(key);
}

function readUint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${what} must be a non-negative integer`);
  return v;
}

function readBin(v: unknown, what: string, maxBytes: number): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(`${what} must be bytes`);
  if (v.byteLength > maxBytes) bad(`${what} exceeds ${maxBytes} bytes`);
  return new Uint8Array(v);
}

function readVersion(f: readonly unknown[], at: number): KvVersion {
  const node = f[at + 2];
  if (typeof node !== 'string' || node.length === 0 || utf8ByteLength(node) > NODE_ID_BYTES_MAX) bad('version node must be a node id');
  return { millis: readUint(f[at], 'version millis'), counter: readUint(f[at + 1], 'version counter'), node };
}

function readArray(bytes: Uint8Array, what: string, stride: number): unknown[] {
  const v = unpack(bytes, what);
  if (!Array.isArray(v) || v.length % stride !== 0) bad(`${what} must be an array of ${stride}-field records`);
  return v as unknown[];
}

/** Entries as one chunk: `[key, value, millis, counter, node]` repeated. */
export function encodeEntries(entries: readonly (readonly [string, KvEntry])[]): Uint8Array {
  const flat: unknown[] = [];
  for (const [key, e] of entries) flat.push(key, e.value, e.version.millis, e.version.counter, e.version.node);
  return pack(flat);
}

/** Decode a chunk of entries; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeEntries(bytes: Uint8Array, valueBytesMax: number): [string, KvEntry][] {
  const f = readArray(bytes, 'chunk', 5);
  const out: [string, KvEntry][] = [];
  for (let i = 0; i < f.length; i += 5) {
    out.push([readKey(f[i]), { value: readBin(f[i + 1], 'value', valueBytesMax), version: readVersion(f, i + 2) }]);
  }
  return out;
}

/** Changes as one batch: `[kind, key, value | nil, millis, counter, node]` repeated. */
export function encodeChanges(changes: readonly KvChange[]): Uint8Array {
  const flat: unknown[] = [];
  for (const c of changes) {
    const v = c.kind === 'put' ? c.entry.version : c.version;
    flat.push(c.kind === 'put' ? PUT : DELETE, c.key, c.kind === 'put' ? c.entry.value : null, v.millis, v.counter, v.node);
  }
  return pack(flat);
}

/** Decode a batch of changes; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeChanges(bytes: Uint8Array, valueBytesMax: number): KvChange[] {
  const f = readArray(bytes, 'delta', 6);
  const out: KvChange[] = [];
  for (let i = 0; i < f.length; i += 6) {
    const key = readKey(f[i + 1]);
    const version = readVersion(f, i + 3);
    if (f[i] === PUT) out.push({ kind: 'put', key, entry: { value: readBin(f[i + 2], 'value', valueBytesMax), version } });
    else if (f[i] === DELETE && f[i + 2] === null) out.push({ kind: 'delete', key, version });
    else bad('change kind must be put (1) with a value or delete (2) without');
  }
  return out;
}

/** Encode a client operation. */
export function encodeOp(op: KvOp): Uint8Array {
  switch (op.op) {
    case 'put':
      return pack([opCodes.put, op.key, op.value]);
    case 'get':
    case 'delete':
      return pack([opCodes[op.op], op.key]);
    case 'size':
      return pack([opCodes.size]);
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
  return bytes[1] !== opCodes.get && bytes[1] !== opCodes.size;
}

/** Decode a client operation; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeOp(bytes: Uint8Array, valueBytesMax: number): KvOp {
  const f = unpack(bytes, 'operation');
  if (!Array.isArray(f) || f.length === 0) bad('operation must be a non-empty array');
  const a = f as unknown[];
  if (a[0] === opCodes.put && a.length === 3) return { op: 'put', key: readKey(a[1]), value: readBin(a[2], 'value', valueBytesMax) };
  if (a[0] === opCodes.get && a.length === 2) return { op: 'get', key: readKey(a[1]) };
  if (a[0] === opCodes.delete && a.length === 2) return { op: 'delete', key: readKey(a[1]) };
  if (a[0] === opCodes.size && a.length === 1) return { op: 'size' };
  return bad('unknown operation');
}

/** Encode a small result (a boolean or a count). */
export function encodeResult(value: boolean | number): Uint8Array {
  return pack(value);
}

/** Decode a small result. */
export function decodeResult(bytes: Uint8Array | undefined): boolean | number | undefined {
  if (bytes === undefined) return undefined;
  const v = unpack(bytes, 'result');
  if (typeof v !== 'boolean' && typeof v !== 'number') bad('result must be a boolean or a number');
  return v;
}

/**
 * A change sent by the owner to a backup: the change, and the owner's epoch and table
 * version for the partition (`[epoch, tableVersion, kind, key, value | nil, millis,
 * counter, node]`), so a backup can refuse a deposed owner.
 */
export interface KvReplication {
  readonly epoch: number;
  readonly tableVersion: number;
  readonly change: KvChange;
}

/** Encode a replication message. */
export function encodeReplication(r: KvReplication): Uint8Array {
  const c = r.change;
  const v = c.kind === 'put' ? c.entry.version : c.version;
  return pack([r.epoch, r.tableVersion, c.kind === 'put' ? PUT : DELETE, c.key, c.kind === 'put' ? c.entry.value : null, v.millis, v.counter, v.node]);
}

/** Decode a replication message; FLO_INVALID_ARGUMENT on anything malformed. */
export function decodeReplication(bytes: Uint8Array, valueBytesMax: number): KvReplication {
  const f = unpack(bytes, 'replication');
  if (!Array.isArray(f) || f.length !== 8) bad('replication must be an array of 8 fields');
  const a = f as unknown[];
  const [change] = decodeChanges(pack(a.slice(2)), valueBytesMax);
  return { epoch: readUint(a[0], 'epoch'), tableVersion: readUint(a[1], 'tableVersion'), change: change! };
}
