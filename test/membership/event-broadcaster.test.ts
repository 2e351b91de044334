// Event broadcaster: bounded per-subscriber buffers, drop notices with exact counts,
// isolation between subscribers, and close semantics.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { EventBroadcaster, type EventsDropped } from '../../src/membership/event-broadcaster.js';

interface Ev {
  type: 'Ev';
  n: number;
}
const ev = (n: number): Ev => ({ type: 'Ev', n });
const dropped = (count: number): EventsDropped => ({ type: 'EventsDropped', code: 'FLO_EVENTS_DROPPED', count });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'not a FlotillaError';
  }
  return undefined;
}

describe('EventBroadcaster', () => {
  it('delivers events in order to every subscriber', () => {
    const b = new EventBroadcaster<Ev>();
    const s1 = b.subscribe();
    const s2 = b.subscribe();
    for (let i = 0; i < 3; i++) b.publish(ev(i));
    expect(s1.pending).toBe(3);
    expect(s1.drain()).toEqual([ev(0), ev(1), ev(2)]);
    expect(s2.poll()).toEqual(ev(0));
    expect(s2.pending).toBe(2);
    expect(s1.poll()).toBeUndefined();
  });

  it('delivers only events published after subscribing', () => {
    const b = new EventBroadcaster<Ev>();
    b.publish(ev(0));
    const s = b.subscribe();
    b.publish(ev(1));
    expect(s.drain()).toEqual([ev(1)]);
  });

  it('drops the oldest events of a slow subscriber and says how many first', () => {
    const b = new EventBroadcaster<Ev>();
    const s = b.subscribe({ bufferSize: 3 });
    for (let i = 0; i < 10; i++) b.publish(ev(i));
    expect(s.pending).toBe(3);
    expect(s.poll()).toEqual(dropped(7));
    expect(s.drain()).toEqual([ev(7), ev(8), ev(9)]);
    b.publish(ev(10));
    expect(s.drain()).toEqual([ev(10)]);
  });

  it('counts drops afresh after each notice', () => {
    const b = new EventBroadcaster<Ev>();
    const s = b.subscribe({ bufferSize: 2 });
    for (let i = 0; i < 5; i++) b.publish(ev(i));
    expect(s.poll()).toEqual(dropped(3));
    expect(s.poll()).toEqual(ev(3));
    for (let i = 5; i < 8; i++) b.publish(ev(i));
    // the buffer held [4]; 5 fills it, 6 evicts 4, 7 evicts 5
    expect(s.drain()).toEqual([dropped(2), ev(6), ev(7)]);
  });

  it('isolates subscribers: a slow one does not affect a fast one', () => {
    const b = new EventBroadcaster<Ev>();
    const slow = b.subscribe({ bufferSize: 2 });
    const fast = b.subscribe({ bufferSize: 2 });
    const seen: (Ev | EventsDropped)[] = [];
    for (let i = 0; i < 100; i++) {
      b.publish(ev(i));
      seen.push(...fast.drain());
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => ev(i)));
    expect(slow.drain()).toEqual([dropped(98), ev(98), ev(99)]);
  });

  it('accounts for every published event exactly once, for any buffer and poll pattern', () => {
    const action = fc.oneof(fc.constant('publish' as const), fc.constant('poll' as const), fc.constant('drain' as const));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(action, { maxLength: 300 }), (bufferSize, actions) => {
        const b = new EventBroadcaster<Ev>();
        const s = b.subscribe({ bufferSize });
        let published = 0;
        let delivered = 0;
        let droppedTotal = 0;
        let lastSeen = -1;
        const take = (item: Ev | EventsDropped): boolean => {
          if (item.type === 'EventsDropped') {
            droppedTotal += item.count;
            return item.count > 0;
          }
          delivered++;
          const inOrder = item.n > lastSeen;
          lastSeen = item.n;
          return inOrder;
        };
        for (const a of actions) {
          if (a === 'publish') b.publish(ev(published++));
          else if (a === 'poll') {
            const item = s.poll();
            if (item !== undefined && !take(item)) return false;
          } else if (!s.drain().every(take)) return false;
          if (s.pending > bufferSize) return false;
        }
        for (const item of s.drain()) if (!take(item)) return false;
        return delivered + droppedTotal === published;
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('stops delivering after close and frees the slot', () => {
    const b = new EventBroadcaster<Ev>({ subscribersMax: 1 });
    const s = b.subscribe();
    b.publish(ev(1));
    expect(codeOf(() => b.subscribe())).toBe('FLO_QUEUE_FULL');
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(s.pending).toBe(0);
    expect(s.poll()).toBeUndefined();
    expect(b.subscriberCount).toBe(0);
    b.publish(ev(2));
    expect(s.poll()).toBeUndefined();
    const again = b.subscribe();
    b.closeAll();
    expect(again.closed).toBe(true);
    expect(b.subscriberCount).toBe(0);
  });

  it('publishes with no subscribers', () => {
    const b = new EventBroadcaster<Ev>();
    expect(() => b.publish(ev(1))).not.toThrow();
  });

  it.each([0, -1, 1.5, 2_000_000])('rejects bufferSize %s', (bufferSize) => {
    expect(codeOf(() => new EventBroadcaster<Ev>().subscribe({ bufferSize }))).toBe('FLO_INVALID_ARGUMENT');
  });

  it('rejects a bad subscribersMax', () => {
    expect(codeOf(() => new EventBroadcaster<Ev>({ subscribersMax: 0 }))).toBe('FLO_CONFIG_INVALID');
  });
});
