import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestTracker } from '../../src/transport/request-tracker.js';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import type { FramedConnection } from '../../src/transport/tcp-connection.js';
import type { Message } from '../../src/protocol/messages.js';
import { rejection } from './helpers.js';

const reply: Message = { type: 'Nack', seqNo: 1, from: 'n' };

function fakeConnection(): FramedConnection {
  return { pendingRequests: 0 } as FramedConnection;
}

describe('RequestTracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves by correlation id and releases the connection slot', async () => {
    const tracker = new RequestTracker(4);
    const connection = fakeConnection();
    const a = tracker.open(1000);
    const b = tracker.open(1000);
    expect(a.id).not.toBe(b.id);
    expect(tracker.attach(a.id, connection)).toBe(true);
    expect(connection.pendingRequests).toBe(1);
    expect(tracker.resolve(a.id, reply)).toBe(true);
    await expect(a.response).resolves.toEqual(reply);
    expect(connection.pendingRequests).toBe(0);
    expect(tracker.resolve(a.id, reply)).toBe(false);
    tracker.rejectAll(new FlotillaError('FLO_NODE_STOPPED'));
    expect(isFlotillaError(await rejection(b.response), 'FLO_NODE_STOPPED')).toBe(true);
    expect(tracker.stats()).toEqual({ pending: 0, sent: 2, answered: 1, timedOut: 0, failed: 1 });
  });

  it('times out in virtual time with FLO_TIMEOUT', async () => {
    const tracker = new RequestTracker(4);
    const { id, response } = tracker.open(500);
    const caught = rejection(response);
    vi.advanceTimersByTime(499);
    expect(tracker.stats().pending).toBe(1);
    vi.advanceTimersByTime(1);
    expect(isFlotillaError(await caught, 'FLO_TIMEOUT')).toBe(true);
    expect(tracker.attach(id, fakeConnection())).toBe(false);
    expect(tracker.stats().timedOut).toBe(1);
  });

  it('refuses past pendingRequestsMax with FLO_QUEUE_FULL', () => {
    const tracker = new RequestTracker(2);
    const opened = [tracker.open(1000), tracker.open(1000)];
    for (const { response } of opened) response.catch(() => undefined);
    let caught: unknown;
    try {
      tracker.open(1000);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_QUEUE_FULL')).toBe(true);
    tracker.rejectAll(new FlotillaError('FLO_NODE_STOPPED'));
  });

  it('fails only the requests of a closed connection', async () => {
    const tracker = new RequestTracker(4);
    const lost = fakeConnection();
    const kept = fakeConnection();
    const a = tracker.open(1000);
    const b = tracker.open(1000);
    tracker.attach(a.id, lost);
    tracker.attach(b.id, kept);
    tracker.failConnection(lost, new FlotillaError('FLO_CONNECTION_FAILED', 'peer reset', { peer: 'x:1' }));
    const err = await rejection(a.response);
    expect(isFlotillaError(err, 'FLO_CONNECTION_FAILED')).toBe(true);
    // It had gone out: the peer may have run it.
    expect(err).toMatchObject({ message: 'Connection to the peer failed or was lost: peer reset', details: { peer: 'x:1', inFlight: true } });
    expect(tracker.stats().pending).toBe(1);
    tracker.resolve(b.id, reply);
    await expect(b.response).resolves.toEqual(reply);
  });
});
