/**
 * An OR-map as the client sees it: several values per key with observed-remove semantics
 * (a remove drops the adds the key's owner holds; an add it never saw survives). Unlike
 * the LWW map its operations are not offline-first: each goes to the key's owner (or
 * through a live node that forwards) and fails after `requestTimeoutMs` without one.
 */
import { FlotillaError } from '../core/errors.js';
import { decodeValue, encodeValue, unpackValue, type KvValue } from '../protocol/map-values.js';
import { checkKeyName, checkMapName } from './names.js';

/** What an OR-map handle needs from its client: one routed operation. */
export interface OrMapBackend {
  orOp(op: 'orAdd' | 'orRemove' | 'orGet', map: string, key: string, value: Uint8Array | null): Promise<Uint8Array | null>;
}

/** A named OR-map of the cluster, through the smart client. */
export class ClientOrMap<V extends KvValue = KvValue> {
  readonly name: string;

  constructor(
    name: string,
    private readonly backend: OrMapBackend,
  ) {
    this.name = checkMapName(name);
  }

  /** Add `value` under `key`; resolves once the owner and its backups hold it. */
  async add(key: string, value: V): Promise<void> {
    await this.backend.orOp('orAdd', this.name, checkOrKeyName(key), encodeValue(value));
  }

  /** Remove `value` from `key`: every add of it the owner holds. Resolves with how many adds were removed. */
  async remove(key: string, value: V): Promise<number> {
    return countOf(await this.backend.orOp('orRemove', this.name, checkOrKeyName(key), encodeValue(value)));
  }

  /** Remove every value of `key` the owner holds; resolves with how many adds were removed. */
  async removeAll(key: string): Promise<number> {
    return countOf(await this.backend.orOp('orRemove', this.name, checkOrKeyName(key), null));
  }

  /** The distinct values under `key`, oldest add first. */
  async get(key: string): Promise<V[]> {
    const payload = await this.backend.orOp('orGet', this.name, checkOrKeyName(key), null);
    const raw = payload === null ? [] : unpackValue(payload, 'values');
    if (!Array.isArray(raw) || !raw.every((b) => b instanceof Uint8Array)) throw new FlotillaError('FLO_DECODE_INVALID', 'an OR-map read is an array of values');
    return raw.map((b) => decodeValue(b as Uint8Array) as V);
  }
}

function checkOrKeyName(key: string): string {
  checkKeyName(key);
  if (key.includes('\u0000')) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'OR-map keys may not contain NUL');
  return key;
}

function countOf(payload: Uint8Array | null): number {
  const n = payload === null ? 0 : unpackValue(payload, 'count');
  return typeof n === 'number' ? n : 0;
}
