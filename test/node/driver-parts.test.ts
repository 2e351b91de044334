// The driver's small bounded helpers: the log rate limiter and the event stream's
// waiting readers.
import { describe, expect, it } from 'vitest';
import type { MembershipEvent } from '../../src/membership/events.js';
import { LogLimiter } from '../../src/node/log-limiter.js';
import { NodeEventStream } from '../../src/node/node-events.js';

describe('LogLimiter', () => {
  it('allows one line per key per window and reports how many were held back', () => {
    const limiter = new LogLimiter(100, 10);
    expect(limiter.allow('a', 0)).toBe(0);
    expect(limiter.allow('a', 50)).toBeUndefined();
    expect(limiter.allow('a', 99)).toBeUndefined();
    expect(limiter.allow('b', 99)).toBe(0);
    expect(limiter.allow('a', 100)).toBe(2);
    expect(limiter.allow('a', 150)).toBeUndefined();
  });

  it('forgets the oldest key beyond its bound', () => {
    const limiter = new LogLimiter(1_000, 2);
    limiter.allow('a', 0);
    limiter.allow('b', 0);
    limiter.allow('c', 0);
    expect(limiter.allow('a', 1)).toBe(0);
    expect(limiter.allow('c', 1)).toBeUndefined();
  });
});

describe('NodeEventStream', () => {
  const joined = (nodeId: string): MembershipEvent => ({
    type: 'NodeJoined',
    at: 0,
    member: { nodeId, address: `${nodeId}:1`, state: 'alive', incarnation: 1, tags: {}, stateChangedAt: 0 },
  });

  it('wakes a waiting reader with the next event, in order', async () => {
    const stream = new NodeEventStream();
    const sub = stream.subscribe();
    const first = sub.next();
    stream.publish(joined('a'));
    stream.publish(joined('b'));
    expect(await first).toEqual(joined('a'));
    expect(await sub.next()).toEqual(joined('b'));
  });

  it('tells a slow reader how many events it lost', () => {
    const stream = new NodeEventStream();
    const sub = stream.subscribe({ bufferSize: 2 });
    for (const id of ['a', 'b', 'c']) stream.publish(joined(id));
    expect(sub.drain()).toEqual([{ type: 'EventsDropped', code: 'FLO_EVENTS_DROPPED', count: 1 }, joined('b'), joined('c')]);
  });

  it('ends iteration and pending reads when closed', async () => {
    const stream = new NodeEventStream();
    const sub = stream.subscribe();
    const pending = sub.next();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const item of stream.subscribe()) if (item.type === 'NodeJoined') seen.push(item.member.nodeId);
    })();
    stream.publish(joined('a'));
    stream.closeAll();
    expect(await pending).toEqual(joined('a'));
    await loop;
    expect(seen).toEqual(['a']);
    expect(await sub.next()).toBeUndefined();
  });
});
