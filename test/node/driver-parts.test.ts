// The driver's small bounded helpers: the TCP leg of fallback probes, the log rate
// limiter, and the event stream's waiting readers.
import { describe, expect, it } from 'vitest';
import type { Transmit } from '../../src/core/machine.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import type { Message } from '../../src/protocol/messages.js';
import { LogLimiter } from '../../src/node/log-limiter.js';
import { NodeEventStream } from '../../src/node/node-events.js';
import { TcpProbeTracker } from '../../src/node/tcp-probe-tracker.js';

const ack = (to: string, seqNo: number): Transmit<Message> => ({ to, channel: 'udp', message: { type: 'Ack', seqNo, from: 'me', updates: [] } });

describe('TcpProbeTracker', () => {
  it('sends the Ack of a Ping that came over TCP back over TCP, once, within the window', () => {
    const tracker = new TcpProbeTracker(1_000, 8);
    tracker.notePing('peer:1', 7, 0);
    expect(tracker.route(ack('peer:1', 8), 10).channel).toBe('udp');
    expect(tracker.route(ack('other:1', 7), 10).channel).toBe('udp');
    expect(tracker.route(ack('peer:1', 7), 10).channel).toBe('tcp');
    expect(tracker.route(ack('peer:1', 7), 20).channel).toBe('udp');
    expect(tracker.answered).toBe(1);
  });

  it('lets late Acks go over UDP and forgets the oldest beyond its bound', () => {
    const tracker = new TcpProbeTracker(1_000, 2);
    tracker.notePing('p:1', 1, 0);
    expect(tracker.route(ack('p:1', 1), 1_001).channel).toBe('udp');
    tracker.notePing('p:1', 2, 2_000);
    tracker.notePing('p:1', 3, 2_000);
    tracker.notePing('p:1', 4, 2_000);
    expect([2, 3, 4].map((seq) => tracker.route(ack('p:1', seq), 2_001).channel)).toEqual(['udp', 'tcp', 'tcp']);
  });
});

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
    expect(sub.drain()).toEqual([{ type: 'EventsDropped', count: 1 }, joined('b'), joined('c')]);
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
