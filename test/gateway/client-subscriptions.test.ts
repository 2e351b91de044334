// Which events carry a resume mark: only those of a resumable subscription, for a
// partition its last SUBSCRIBE answer covered, while the partition's epoch is the one it
// covered (an owner that lost the partition and got it back must not vouch for the writes
// made in between). Filters by key and prefix; bounded per connection.
import { describe, expect, it } from 'vitest';
import { ClientSubscriptions } from '../../src/gateway/client-subscriptions.js';
import type { KvChange } from '../../src/grid/kv-codec.js';

const change: KvChange = { kind: 'put', map: 'm', key: 'a-1', entry: { value: new Uint8Array([1]), version: { millis: 50, counter: 0, node: 'n1' } } };

describe('client subscriptions on the gateway', () => {
  it.each<[string, number, number, boolean, boolean]>([
    ['covered partition, same epoch', 4, 3, true, true],
    ['covered partition, a later epoch', 4, 4, true, false],
    ['a partition the answer did not cover', 5, 3, true, false],
    ['a subscription of an older client', 4, 3, false, false],
  ])('%s', (_name, partition, epoch, resumable, marked) => {
    const subs = new ClientSubscriptions<string>(4);
    const entry = subs.add('c', { id: 1, map: 'm', key: null, prefix: 'a-', ...(resumable ? { since: null } : {}) });
    entry.covered = new Map([[4, 3]]);
    const matched = subs.match(change, { partition, millis: 49, epoch });
    expect(matched).toHaveLength(1);
    const frame = matched[0]![1];
    expect(frame.type === 'EVENT' && frame.mark).toEqual(marked ? { partition: 4, millis: 49 } : undefined);
  });

  it('matches by map, key and prefix, and refuses subscriptions past the bound', () => {
    const subs = new ClientSubscriptions<string>(2);
    subs.add('c', { id: 1, map: 'm', key: 'a-1', prefix: null });
    subs.add('c', { id: 2, map: 'other', key: null, prefix: null });
    expect(() => subs.add('c', { id: 3, map: 'm', key: null, prefix: 'b-' })).toThrow(expect.objectContaining({ code: 'FLO_QUEUE_FULL' }));
    subs.add('d', { id: 3, map: 'm', key: null, prefix: 'b-' });
    expect(subs.match(change).map(([e]) => e.sub.id)).toEqual([1]);
  });
});
