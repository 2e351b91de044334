/**
 * The filter language of live queries: a serializable predicate over one map entry (its
 * key and its msgpack-decoded value). Filters cross the wire as plain msgpack data, so
 * they are validated with bounds before use, and evaluation never throws: a missing
 * field or a value of another type is simply "no match", whatever the value holds.
 *
 * Paths: `$key` is the entry's key, `$value` the whole value, anything else a dotted path
 * into the value (`address.city`; a segment of digits indexes an array). Field names
 * containing dots cannot be addressed.
 */
import { FlotillaError } from '../core/errors.js';

/** A value a filter compares with. */
export type FilterScalar = string | number | boolean | null;

/** A live query's filter. */
export type QueryFilter =
  | { readonly op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; readonly path: string; readonly value: FilterScalar }
  | { readonly op: 'in'; readonly path: string; readonly values: readonly FilterScalar[] }
  | { readonly op: 'prefix'; readonly path: string; readonly value: string }
  /** A substring of a string, or an element (equal to `value`) of an array. */
  | { readonly op: 'contains'; readonly path: string; readonly value: FilterScalar }
  | { readonly op: 'exists'; readonly path: string }
  | { readonly op: 'and' | 'or'; readonly filters: readonly QueryFilter[] }
  | { readonly op: 'not'; readonly filter: QueryFilter };

/** Deepest nesting of and/or/not. */
export const FILTER_DEPTH_MAX = 16;
/** Nodes (predicates, combinators and `in` values) in one filter. */
export const FILTER_NODES_MAX = 256;
/** Longest path or string operand, in UTF-8 bytes. */
export const FILTER_STRING_BYTES_MAX = 1024;
/** Segments of one dotted path. */
export const FILTER_PATH_SEGMENTS_MAX = 32;

/** The key and the value of the entry a filter is evaluated on. */
export type FilterPredicate = (key: string, value: unknown) => boolean;

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']);
const encoder = new TextEncoder();

function bad(where: string, what: string): never {
  throw new FlotillaError('FLO_INVALID_ARGUMENT', `filter${where}: ${what}`);
}

/** Read a field of a filter node: a plain object or a msgpack-decoded Map. */
function field(node: unknown, name: string): unknown {
  if (node instanceof Map) return node.get(name);
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) return Object.prototype.hasOwnProperty.call(node, name) ? (node as Record<string, unknown>)[name] : undefined;
  return undefined;
}

function readString(v: unknown, where: string, min = 0): string {
  if (typeof v !== 'string' || v.length < min || encoder.encode(v).byteLength > FILTER_STRING_BYTES_MAX) bad(where, `a string of ${min}..${FILTER_STRING_BYTES_MAX} bytes`);
  return v;
}

function readScalar(v: unknown, where: string): FilterScalar {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : bad(where, 'a finite number');
  return readString(v, where);
}

function readPath(v: unknown, where: string): string {
  const path = readString(v, where, 1);
  if (path !== '$key' && path !== '$value' && (path.split('.').length > FILTER_PATH_SEGMENTS_MAX || path.split('.').some((s) => s === ''))) {
    bad(where, `$key, $value, or a dotted path of 1..${FILTER_PATH_SEGMENTS_MAX} non-empty segments`);
  }
  return path;
}

/**
 * Check `input` (a filter from an API call or decoded from msgpack) and return it in
 * canonical form. @throws FLO_INVALID_ARGUMENT naming where and what is wrong.
 */
export function parseFilter(input: unknown): QueryFilter {
  let nodes = 0;
  const read = (node: unknown, where: string, depth: number): QueryFilter => {
    if (++nodes > FILTER_NODES_MAX) bad(where, `more than ${FILTER_NODES_MAX} nodes`);
    if (depth > FILTER_DEPTH_MAX) bad(where, `nested deeper than ${FILTER_DEPTH_MAX}`);
    const op = field(node, 'op');
    if (typeof op !== 'string') bad(where, 'an object with an op');
    if (COMPARE_OPS.has(op)) {
      return { op: op as 'eq', path: readPath(field(node, 'path'), `${where}.path`), value: readScalar(field(node, 'value'), `${where}.value`) };
    }
    switch (op) {
      case 'in': {
        const values = field(node, 'values');
        if (!Array.isArray(values)) bad(`${where}.values`, 'an array');
        nodes += values.length;
        if (nodes > FILTER_NODES_MAX) bad(`${where}.values`, `more than ${FILTER_NODES_MAX} nodes in the filter`);
        return { op, path: readPath(field(node, 'path'), `${where}.path`), values: values.map((v, i) => readScalar(v, `${where}.values[${i}]`)) };
      }
      case 'prefix':
        return { op, path: readPath(field(node, 'path'), `${where}.path`), value: readString(field(node, 'value'), `${where}.value`) };
      case 'contains':
        return { op, path: readPath(field(node, 'path'), `${where}.path`), value: readScalar(field(node, 'value'), `${where}.value`) };
      case 'exists':
        return { op, path: readPath(field(node, 'path'), `${where}.path`) };
      case 'and':
      case 'or': {
        const filters = field(node, 'filters');
        if (!Array.isArray(filters) || filters.length === 0) bad(`${where}.filters`, 'a non-empty array');
        return { op, filters: filters.map((f, i) => read(f, `${where}.filters[${i}]`, depth + 1)) };
      }
      case 'not':
        return { op, filter: read(field(node, 'filter'), `${where}.filter`, depth + 1) };
      default:
        return bad(`${where}.op`, `one of eq ne gt gte lt lte in prefix contains exists and or not, not ${JSON.stringify(op.slice(0, 32))}`);
    }
  };
  return read(input, '', 0);
}

/** Resolve a path on an entry; undefined when it does not lead anywhere. */
function resolve(segments: readonly string[] | '$key' | '$value', key: string, value: unknown): unknown {
  if (segments === '$key') return key;
  if (segments === '$value') return value;
  let at = value;
  for (const s of segments) {
    if (at instanceof Map) at = at.get(s);
    else if (Array.isArray(at)) at = /^\d+$/.test(s) ? at[Number(s)] : undefined;
    else if (typeof at === 'object' && at !== null && !(at instanceof Uint8Array)) at = Object.prototype.hasOwnProperty.call(at, s) ? (at as Record<string, unknown>)[s] : undefined;
    else return undefined;
  }
  return at;
}

function isScalar(v: unknown): v is FilterScalar | bigint {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
}

function equal(a: unknown, b: FilterScalar): boolean {
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isInteger(b) && a === BigInt(b);
  return a === b;
}

/** -1, 0, 1, or undefined when the two are not of one ordered type (numbers, or strings). */
function order(a: unknown, b: FilterScalar): number | undefined {
  if ((typeof a === 'number' || typeof a === 'bigint') && typeof b === 'number') {
    const x = Number(a);
    return x < b ? -1 : x > b ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/** Compile a parsed filter to a predicate that never throws. */
export function compileFilter(filter: QueryFilter): FilterPredicate {
  switch (filter.op) {
    case 'and': {
      const parts = filter.filters.map(compileFilter);
      return (k, v) => parts.every((p) => p(k, v));
    }
    case 'or': {
      const parts = filter.filters.map(compileFilter);
      return (k, v) => parts.some((p) => p(k, v));
    }
    case 'not': {
      const inner = compileFilter(filter.filter);
      return (k, v) => !inner(k, v);
    }
    default:
      break;
  }
  const path = filter.path === '$key' || filter.path === '$value' ? filter.path : filter.path.split('.');
  const at = (k: string, v: unknown): unknown => resolve(path, k, v);
  switch (filter.op) {
    case 'eq':
      return (k, v) => equal(at(k, v), filter.value);
    case 'ne':
      // Present and different (any type); a missing field matches neither eq nor ne.
      return (k, v) => {
        const x = at(k, v);
        return x !== undefined && !equal(x, filter.value);
      };
    case 'gt':
      return (k, v) => (order(at(k, v), filter.value) ?? 0) > 0;
    case 'gte':
      return (k, v) => (order(at(k, v), filter.value) ?? -1) >= 0;
    case 'lt':
      return (k, v) => (order(at(k, v), filter.value) ?? 0) < 0;
    case 'lte':
      return (k, v) => (order(at(k, v), filter.value) ?? 1) <= 0;
    case 'in':
      return (k, v) => {
        const x = at(k, v);
        return isScalar(x) && filter.values.some((c) => equal(x, c));
      };
    case 'prefix':
      return (k, v) => {
        const x = at(k, v);
        return typeof x === 'string' && x.startsWith(filter.value);
      };
    case 'contains':
      return (k, v) => {
        const x = at(k, v);
        if (typeof x === 'string') return typeof filter.value === 'string' && x.includes(filter.value);
        return Array.isArray(x) && x.some((e) => equal(e, filter.value));
      };
    case 'exists':
      return (k, v) => at(k, v) !== undefined;
  }
}
