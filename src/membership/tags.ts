/**
 * Node tags: the key/value metadata a node advertises (zone, role, version...). They ride
 * on its Alive gossip, versioned by its incarnation, so their encoded size is capped to
 * keep every Alive small enough to share a datagram with other updates.
 */
import { FlotillaError } from '../core/errors.js';
import type { Tags } from '../core/model.js';
import { TAGS_BYTES_MAX } from '../protocol/limits.js';
import { utf8Length } from './size.js';

/** msgpack header bytes of a string of `length` UTF-8 bytes. */
function stringHeaderBytes(length: number): number {
  if (length < 32) return 1;
  if (length < 0x100) return 2;
  if (length < 0x10000) return 3;
  return 5;
}

/** msgpack header bytes of a map of `entries` entries. */
function mapHeaderBytes(entries: number): number {
  if (entries < 16) return 1;
  if (entries < 0x10000) return 3;
  return 5;
}

/** Exact msgpack size of a string-to-string map, in bytes. */
export function encodedTagsSize(tags: Tags): number {
  let bytes = mapHeaderBytes(Object.keys(tags).length);
  for (const [key, value] of Object.entries(tags)) {
    const k = utf8Length(key);
    const v = utf8Length(value);
    bytes += stringHeaderBytes(k) + k + stringHeaderBytes(v) + v;
  }
  return bytes;
}

/**
 * Checks that `tags` is a map of strings whose encoding fits TAGS_BYTES_MAX; throws
 * FLO_INVALID_ARGUMENT or FLO_TAGS_TOO_LARGE. Returns a frozen copy.
 */
export function validateTags(tags: Tags): Tags {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== 'string') throw new FlotillaError('FLO_INVALID_ARGUMENT', `tag ${key} must be a string`, { key });
    if (key.length === 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'tag keys must not be empty');
    copy[key] = value;
  }
  const size = encodedTagsSize(copy);
  if (size > TAGS_BYTES_MAX) {
    throw new FlotillaError('FLO_TAGS_TOO_LARGE', `${size} bytes, limit ${TAGS_BYTES_MAX}`, { sizeBytes: size, limitBytes: TAGS_BYTES_MAX });
  }
  return Object.freeze(copy);
}

/** True when both maps hold the same keys and values. */
export function tagsEqual(a: Tags, b: Tags): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

/** True when `tags` holds every key of `wanted` with the same value. */
export function tagsMatch(tags: Tags, wanted: Tags): boolean {
  return tagsMatcher(wanted)(tags);
}

/**
 * A predicate true for tags holding every pair of `wanted`; the pairs are listed once, so
 * testing a whole member list allocates nothing per member.
 */
export function tagsMatcher(wanted: Tags): (tags: Tags) => boolean {
  const pairs = Object.entries(wanted);
  return (tags) => {
    for (let i = 0; i < pairs.length; i++) {
      const [key, value] = pairs[i]!;
      if (tags[key] !== value) return false;
    }
    return true;
  };
}


export { MERGING_TAG } from '../core/merge-tags.js';
