/**
 * How a map reconciles an entry arriving in a split-brain merge with the one already
 * held. `latest-update` (the default) keeps the slot with the newer HLC version,
 * tombstones included; the others decide on the values and write the outcome under a
 * version newer than both sides, so replicas and later copies keep it.
 */
import { FlotillaError } from '../core/errors.js';
import { compareVersions, decodeValue, encodeValue, type KvSlot, type KvValue, type KvVersion } from './kv-codec.js';

/** A user merge function: the value to keep (undefined: the key is absent after the merge). */
export type MergeFunction = (key: string, existing: KvValue | undefined, incoming: KvValue | undefined) => KvValue | undefined;

/**
 * A map's merge policy. `latest-update`: newer version wins. `put-if-absent`: the
 * incoming value is taken only where this side holds none (absent or deleted).
 * `pass-through`: the incoming side always wins. `higher-hits`: the incoming entry wins
 * where it was read more often on its side's owner than the entry held here (ties keep
 * this side). A function decides per key.
 */
export type MergePolicy = 'latest-update' | 'put-if-absent' | 'pass-through' | 'higher-hits' | MergeFunction;

/** Merge policies by map name; maps not named use `latest-update`. */
export type MergePolicies = Readonly<Record<string, MergePolicy>>;

const NAMED = ['latest-update', 'put-if-absent', 'pass-through', 'higher-hits'];

/** @throws FlotillaError FLO_CONFIG_INVALID for an unknown policy. */
export function checkMergePolicies(policies: MergePolicies): MergePolicies {
  for (const [map, policy] of Object.entries(policies)) {
    if (typeof policy !== 'function' && !NAMED.includes(policy)) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `map ${map}: merge policy must be one of ${NAMED.join(', ')} or a function`);
    }
  }
  return policies;
}

/**
 * The slot to store after merging `incoming` into `existing` under `policy`, or undefined
 * to leave `existing` as it is. Only for policies other than `latest-update`.
 */
export function mergeSlot(policy: Exclude<MergePolicy, 'latest-update'>, key: string, existing: KvSlot | undefined, incoming: KvSlot): KvSlot | undefined {
  const have = existing?.value ?? null;
  let outcome: Uint8Array | null;
  if (policy === 'put-if-absent') {
    if (have !== null) return undefined;
    outcome = incoming.value;
  } else if (policy === 'higher-hits') {
    if (have !== null && (incoming.hits ?? 0) <= (existing?.hits ?? 0)) return undefined;
    outcome = incoming.value;
  } else if (policy === 'pass-through') {
    outcome = incoming.value;
  } else {
    const chosen = policy(key, have === null ? undefined : decodeValue(have), incoming.value === null ? undefined : decodeValue(incoming.value));
    outcome = chosen === undefined ? null : encodeValue(chosen);
  }
  if (sameBytes(outcome, have) && existing !== undefined) return undefined;
  if (outcome === null && existing === undefined) return undefined;
  return { value: outcome, version: after(existing?.version, incoming.version) };
}

/** A version newer than both: the larger one with its counter raised. */
function after(a: KvVersion | undefined, b: KvVersion): KvVersion {
  const top = a === undefined || compareVersions(a, b) < 0 ? b : a;
  return { millis: top.millis, counter: top.counter + 1, node: top.node };
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
