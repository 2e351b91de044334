import { describe, expect, it } from 'vitest';
import { decodeValue, encodeRecords, encodeValue, type KvSlot, type KvValue, type KvVersion } from '../../src/grid/kv-codec.js';
import { KvStore } from '../../src/grid/kv-store.js';
import { checkMergePolicies, type MergePolicy } from '../../src/grid/merge-policy.js';

const v = (millis: number, counter = 0, node = 'n1'): KvVersion => ({ millis, counter, node });
const live = (value: KvValue, version: KvVersion): KvSlot => ({ value: encodeValue(value), version });
const gone = (version: KvVersion): KvSlot => ({ value: null, version });

function storeWith(policy: MergePolicy): KvStore {
  return new KvStore({ valueBytesMax: 1 << 20, captureBytesMax: 1 << 26, mergePolicies: { m: policy } });
}

function merged(policy: MergePolicy, existing: KvSlot | undefined, incoming: KvSlot): KvValue | undefined | 'tombstone' {
  const store = storeWith(policy);
  if (existing !== undefined) store.apply(0, existing.value === null ? { kind: 'delete', map: 'm', key: 'k', version: existing.version } : { kind: 'put', map: 'm', key: 'k', entry: existing as { value: Uint8Array; version: KvVersion } });
  // Hits are the owner's reads of the entry.
  for (let i = 0; i < (existing?.hits ?? 0); i++) store.hit(0, 'm', 'k');
  store.merge(0, encodeRecords([{ map: 'm', key: 'k', slot: incoming }]));
  const slot = store.slot(0, 'm', 'k');
  if (slot === undefined) return undefined;
  return slot.value === null ? 'tombstone' : decodeValue(slot.value);
}

describe('merge policies', () => {
  it.each<[string, MergePolicy, KvSlot | undefined, KvSlot, KvValue | undefined | 'tombstone']>([
    ['latest-update: newer incoming wins', 'latest-update', live('here', v(1)), live('there', v(2)), 'there'],
    ['latest-update: older incoming loses', 'latest-update', live('here', v(3)), live('there', v(2)), 'here'],
    ['latest-update: a newer delete wins', 'latest-update', live('here', v(1)), gone(v(2)), 'tombstone'],
    ['put-if-absent: keeps a present value, even an older one', 'put-if-absent', live('here', v(1)), live('there', v(9)), 'here'],
    ['put-if-absent: fills an absent key', 'put-if-absent', undefined, live('there', v(1)), 'there'],
    ['put-if-absent: fills a deleted key, even with an older value', 'put-if-absent', gone(v(9)), live('there', v(1)), 'there'],
    ['higher-hits: more-read incoming wins, even when older', 'higher-hits', { ...live('here', v(9)), hits: 2 }, { ...live('there', v(1)), hits: 5 }, 'there'],
    ['higher-hits: less-read incoming loses, even when newer', 'higher-hits', { ...live('here', v(1)), hits: 5 }, { ...live('there', v(9)), hits: 2 }, 'here'],
    ['higher-hits: a tie keeps this side', 'higher-hits', { ...live('here', v(1)), hits: 3 }, { ...live('there', v(9)), hits: 3 }, 'here'],
    ['higher-hits: fills an absent key', 'higher-hits', undefined, live('there', v(1)), 'there'],
    ['higher-hits: an incoming delete (no hits) never removes a live entry', 'higher-hits', live('here', v(1)), gone(v(9)), 'here'],
    ['pass-through: incoming wins even when older', 'pass-through', live('here', v(9)), live('there', v(1)), 'there'],
    ['pass-through: an incoming delete deletes', 'pass-through', live('here', v(9)), gone(v(1)), 'tombstone'],
    ['function: sums numbers', (_k, a, b) => ((a as number | undefined) ?? 0) + ((b as number | undefined) ?? 0), live(2, v(9)), live(3, v(1)), 5],
    ['function: undefined deletes', () => undefined, live('here', v(9)), live('there', v(1)), 'tombstone'],
    ['function: a throw keeps this side', () => {
      throw new Error('no');
    }, live('here', v(9)), live('there', v(1)), 'here'],
  ])('%s', (_name, policy, existing, incoming, expected) => {
    expect(merged(policy, existing, incoming)).toEqual(expected);
  });

  it('writes a policy outcome under a version newer than both sides, so replicas keep it', () => {
    const store = storeWith('pass-through');
    store.apply(0, { kind: 'put', map: 'm', key: 'k', entry: { value: encodeValue('here'), version: v(9, 4, 'z') } });
    store.merge(0, encodeRecords([{ map: 'm', key: 'k', slot: live('there', v(1)) }]));
    expect(store.slot(0, 'm', 'k')!.version).toEqual(v(9, 5, 'z'));
    // An older replication of the overwritten value no longer applies.
    expect(store.apply(0, { kind: 'put', map: 'm', key: 'k', entry: { value: encodeValue('here'), version: v(9, 4, 'z') } })).toBe(false);
  });

  it('counts reads per live entry, carries them in chunks and keeps the busier side`s count after a merge', async () => {
    const source = storeWith('higher-hits');
    source.apply(0, { kind: 'put', map: 'm', key: 'k', entry: { value: encodeValue('hot'), version: v(1) } });
    for (let i = 0; i < 4; i++) source.hit(0, 'm', 'k');
    source.hit(0, 'm', 'absent');
    expect(source.hitsOf(0, 'm', 'k')).toBe(4);
    expect(source.hitsOf(0, 'm', 'absent')).toBe(0);
    const copy = storeWith('higher-hits');
    for await (const chunk of source.exportChunks(0)) copy.applyChunk(0, chunk);
    expect(copy.hitsOf(0, 'm', 'k')).toBe(4);
    const other = storeWith('higher-hits');
    other.apply(0, { kind: 'put', map: 'm', key: 'k', entry: { value: encodeValue('cold'), version: v(5) } });
    other.hit(0, 'm', 'k');
    for await (const chunk of source.exportChunks(0)) other.merge(0, chunk);
    expect(decodeValue(other.get(0, 'k', 'm')!.value)).toBe('hot');
    expect(other.hitsOf(0, 'm', 'k')).toBe(4);
    // A delete forgets the count.
    other.apply(0, { kind: 'delete', map: 'm', key: 'k', version: v(99) });
    expect(other.hitsOf(0, 'm', 'k')).toBe(0);
  });

  it('applies per map: other maps keep latest-update', () => {
    const store = storeWith('put-if-absent');
    store.apply(0, { kind: 'put', map: 'other', key: 'k', entry: { value: encodeValue('here'), version: v(1) } });
    store.merge(0, encodeRecords([{ map: 'other', key: 'k', slot: live('there', v(2)) }]));
    expect(decodeValue(store.get(0, 'k', 'other')!.value)).toBe('there');
  });

  it('refuses unknown policy names', () => {
    expect(checkMergePolicies({ m: 'higher-hits' })).toEqual({ m: 'higher-hits' });
    expect(() => checkMergePolicies({ m: 'most-hits' as never })).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });
});
