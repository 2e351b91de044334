// The versions a client remembers per key (for monotonic reads and event order): a newer
// version is taken, an older one refused, and the memory is bounded: keys updated least
// recently are forgotten first, after which a key takes any version again.
import { describe, expect, it } from 'vitest';
import { SubscriptionSet } from '../../src/client/subscriptions.js';

const v = (millis: number) => ({ millis, counter: 0, node: 'n1' });

describe('versions seen', () => {
  it('orders versions per map and key', () => {
    const seen = new SubscriptionSet(100);
    expect(seen.observe('m', 'k', v(5))).toBe(1);
    expect(seen.observe('m', 'k', v(5))).toBe(0);
    expect(seen.observe('m', 'k', v(4))).toBe(-1);
    expect(seen.observe('other', 'k', v(4))).toBe(1);
    expect(seen.seen('m', 'k')).toBe(true);
    expect(seen.seen('m', 'never')).toBe(false);
  });

  it('keeps at most its bound, forgetting the keys updated least recently', () => {
    const seen = new SubscriptionSet(4);
    for (let i = 0; i < 4; i++) seen.observe('m', `k${i}`, v(10));
    // k0 updated again: it stays while k1 goes.
    seen.observe('m', 'k0', v(11));
    for (let i = 4; i < 6; i++) seen.observe('m', `k${i}`, v(10));
    expect(['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].filter((k) => seen.seen('m', k))).toEqual(['k0', 'k4', 'k5']);
    // A forgotten key takes any version again; a remembered one still refuses an older one.
    expect(seen.observe('m', 'k1', v(1))).toBe(1);
    expect(seen.observe('m', 'k5', v(1))).toBe(-1);
  });
});
