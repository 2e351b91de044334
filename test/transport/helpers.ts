/**
 * Shared helpers for the transport tests: waiting on a condition with a deadline (never a
 * fixed sleep), a few valid protocol messages, and a tracker that closes every transport
 * and raw socket a test opened so vitest never hangs on a handle.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Address } from '../../src/core/model.js';
import type { Channel } from '../../src/core/machine.js';
import type { Message, Ping, Gossip } from '../../src/protocol/messages.js';
import { ClusterTransport, type TransportConfig, type TransportLogger } from '../../src/transport/index.js';
import type { SeededRandom } from '../../src/core/random.js';

/** Poll `predicate` (on macrotask turns) until it is true; throw after `deadlineMs`. */
export async function waitFor(predicate: () => boolean, deadlineMs = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > deadlineMs) throw new Error(`waitFor: ${what} not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A valid Ping. */
export function ping(seqNo: number, from = 'node-a', target = 'node-b'): Ping {
  return { type: 'Ping', seqNo, from, target, updates: [] };
}

/** A valid Gossip of `count` Alive updates with `tagBytes` of tags each (at most 500). */
export function gossip(from: string, count: number, tagBytes = 400): Gossip {
  return {
    type: 'Gossip',
    from,
    updates: Array.from({ length: count }, (_, i) => ({
      type: 'Alive' as const,
      node: `${from}-${i}`,
      incarnation: 1,
      address: '127.0.0.1:1',
      tags: { pad: 'x'.repeat(tagBytes) },
    })),
  };
}

/** One received message. */
export interface Received {
  readonly from: Address;
  readonly message: Message;
  readonly channel: Channel;
}

/** Logger that records every warning. */
export class RecordingLogger implements TransportLogger {
  readonly lines: { fields: Record<string, unknown>; message: string }[] = [];
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ fields, message });
  }
}

/** Opens transports, raw servers and sockets, and closes all of them in `closeAll`. */
export class Harness {
  private readonly transports: ClusterTransport[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets: Socket[] = [];

  /** Start a transport on 127.0.0.1, port 0, recording what it receives. */
  async transport(config: Partial<TransportConfig> = {}, logger?: TransportLogger): Promise<{ t: ClusterTransport; inbox: Received[] }> {
    const t = new ClusterTransport({ host: '127.0.0.1', port: 0, ...config }, logger === undefined ? {} : { logger });
    this.transports.push(t);
    const inbox: Received[] = [];
    t.onMessage((from, message, channel) => inbox.push({ from, message, channel }));
    await t.start();
    return { t, inbox };
  }

  /** A raw TCP server that accepts and never reads (for slow-reader tests). */
  async silentServer(): Promise<Address> {
    const server = createServer((socket) => {
      socket.pause();
      socket.on('error', () => undefined);
      this.sockets.push(socket);
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const bound = server.address();
    if (typeof bound !== 'object' || bound === null) throw new Error('no address');
    return `127.0.0.1:${bound.port}`;
  }

  /** Track a raw socket so it is destroyed at the end. */
  track(socket: Socket): Socket {
    socket.on('error', () => undefined);
    this.sockets.push(socket);
    return socket;
  }

  async closeAll(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.transports.map((t) => t.close()));
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    this.transports.length = 0;
    this.servers.length = 0;
    this.sockets.length = 0;
  }
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof bound !== 'object' || bound === null) throw new Error('no address');
  return bound.port;
}

/** `length` bytes from a seeded generator. */
export function randomBytes(random: SeededRandom, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = random.int(256);
  return out;
}

/** The error `promise` rejects with; throws if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
