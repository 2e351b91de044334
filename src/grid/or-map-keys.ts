/**
 * How an OR-map lives in the map store: each add is its own LWW slot, in an internal map
 * beside the user's LWW maps, under the key `userKey \0 tag`, where the tag is the add's
 * HLC version (unique cluster-wide). A remove tombstones the tags it observed, so an add
 * it did not see (made concurrently, on the other side of a split) survives: observed-remove
 * semantics on top of the slots' last-writer-wins. Migrations, backups, merges and the
 * tombstone GC then treat OR-map entries like any other slot; only partition checks must
 * hash the user key, which this file recovers.
 */
import { bad, checkKey, checkMapName, KV_KEY_BYTES_MAX, MAP_NAME_BYTES_MAX, type KvVersion } from './kv-codec.js';
import { NODE_ID_BYTES_MAX } from '../protocol/limits.js';
import { utf8ByteLength } from '../protocol/validate.js';

/** Prefix of the internal map names that hold OR-maps (user map names may not start with it). */
export const OR_MAP_PREFIX = '\u0001or:';

/** Separates the user key from the add's tag in a stored OR-map key. */
const TAG_SEPARATOR = '\u0000';

/** Bytes a tag takes at most: separator, millis and counter in base 36 with dots, and a node id. */
const TAG_BYTES_MAX = 1 + 11 + 1 + 11 + 1 + NODE_ID_BYTES_MAX;

/** Longest OR-map key, in UTF-8 bytes (a stored key adds the tag and must fit the store's key bound). */
export const OR_KEY_BYTES_MAX = KV_KEY_BYTES_MAX - TAG_BYTES_MAX;

/** Longest OR-map name, in UTF-8 bytes. */
export const OR_MAP_NAME_BYTES_MAX = MAP_NAME_BYTES_MAX - utf8ByteLength(OR_MAP_PREFIX);

/** The internal map holding OR-map `name`. @throws FLO_INVALID_ARGUMENT for a bad name. */
export function orMapStoreName(name: string): string {
  checkMapName(name);
  if (utf8ByteLength(name) > OR_MAP_NAME_BYTES_MAX) bad(`OR-map names are at most ${OR_MAP_NAME_BYTES_MAX} bytes`);
  return OR_MAP_PREFIX + name;
}

/** Whether `map` is an internal OR-map name. */
export function isOrMapStoreName(map: string): boolean {
  return map.startsWith(OR_MAP_PREFIX);
}

/** Check an OR-map key. @throws FLO_INVALID_ARGUMENT */
export function checkOrKey(key: string): string {
  checkKey(key);
  if (key.includes(TAG_SEPARATOR)) bad('OR-map keys may not contain NUL');
  if (utf8ByteLength(key) > OR_KEY_BYTES_MAX) bad(`OR-map keys are at most ${OR_KEY_BYTES_MAX} bytes`);
  return key;
}

/** The stored key of the add of `key` stamped `version`. */
export function orSlotKey(key: string, version: KvVersion): string {
  return `${key}${TAG_SEPARATOR}${version.millis.toString(36)}.${version.counter.toString(36)}.${version.node}`;
}

/** The prefix every stored key of `key` starts with. */
export function orSlotPrefix(key: string): string {
  return key + TAG_SEPARATOR;
}

/** The key whose partition holds a stored slot: the user key of an OR-map slot, else the key itself. */
export function routingKeyOf(map: string, key: string): string {
  if (!isOrMapStoreName(map)) return key;
  const at = key.indexOf(TAG_SEPARATOR);
  return at < 0 ? key : key.slice(0, at);
}
