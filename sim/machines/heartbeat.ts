/**
 * A tiny all-to-all heartbeat machine: every interval each node pings every peer over
 * UDP, pongs what it is pinged with, and calls a peer down after a silence. It exists to
 * exercise the simulator engine (and its CLI) independently of the real protocols; its
 * `send` also lets tests push numbered payloads over either channel.
 */
import type { Millis } from '../../src/core/clock.js';
import { FlotillaError } from '../../src/core/errors.js';
import type { Channel, SansIoMachine, Transmit } from '../../src/core/machine.js';
import type { Address } from '../../src/core/model.js';
import type { Random } from '../../src/core/random.js';

/** Wire messages of the heartbeat machine. */
export type HeartbeatMessage =
  | { readonly type: 'Ping'; readonly from: Address; readonly seq: number }
  | { readonly type: 'Pong'; readonly from: Address; readonly seq: number }
  | { readonly type: 'Data'; readonly from: Address; readonly seq: number; readonly payload: string };

/** Events of the heartbeat machine. */
export type HeartbeatEvent =
  | { readonly type: 'peer-down'; readonly peer: Address }
  | { readonly type: 'peer-up'; readonly peer: Address }
  | { readonly type: 'data'; readonly from: Address; readonly seq: number; readonly payload: string };

/** Heartbeat timing. */
export interface HeartbeatConfig {
  /** Time between two rounds of pings, ms. Default 1,000. */
  readonly intervalMs: number;
  /** Extra uniform random delay added to each interval, ms. Default 100; spreads rounds apart. */
  readonly intervalJitterMs: number;
  /** Silence after which a peer is called down, ms. Default 3,000; must exceed intervalMs. */
  readonly timeoutMs: number;
}

/** Default heartbeat timing. */
export const DEFAULT_HEARTBEAT_CONFIG: HeartbeatConfig = { intervalMs: 1_000, intervalJitterMs: 100, timeoutMs: 3_000 };

/** Outgoing items buffered between two drains. */
export const HEARTBEAT_OUTBOX_MAX = 100_000;

/** Constructor options of the heartbeat machine. */
export interface HeartbeatOptions {
  readonly self: Address;
  readonly peers: readonly Address[];
  readonly random: Random;
  readonly now: Millis;
  readonly config?: Partial<HeartbeatConfig>;
}

interface Peer {
  lastHeardAt: Millis;
  down: boolean;
}

/** All-to-all heartbeats over UDP, plus numbered data on demand. */
export class HeartbeatMachine implements SansIoMachine<HeartbeatMessage, HeartbeatEvent> {
  private readonly self: Address;
  private readonly random: Random;
  private readonly config: HeartbeatConfig;
  private readonly peers = new Map<Address, Peer>();
  private readonly dataSeqs = new Map<Address, number>();
  private readonly outbox: Transmit<HeartbeatMessage>[] = [];
  private readonly events: HeartbeatEvent[] = [];
  private nextRoundAt: Millis;
  private seq = 0;

  constructor(options: HeartbeatOptions) {
    this.self = options.self;
    this.random = options.random;
    this.config = { ...DEFAULT_HEARTBEAT_CONFIG, ...options.config };
    if (this.config.timeoutMs <= this.config.intervalMs + this.config.intervalJitterMs) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'timeoutMs must exceed intervalMs + intervalJitterMs');
    }
    for (const p of options.peers) if (p !== this.self) this.peers.set(p, { lastHeardAt: options.now, down: false });
    this.nextRoundAt = options.now + this.random.int(this.config.intervalMs);
  }

  /** Send a numbered payload to `to`; the receiver emits a `data` event. */
  send(to: Address, channel: Channel, payload: string): void {
    const seq = (this.dataSeqs.get(to) ?? 0) + 1;
    this.dataSeqs.set(to, seq);
    this.push({ to, channel, message: { type: 'Data', from: this.self, seq, payload } });
  }

  /** Peers currently considered down. */
  downPeers(): Address[] {
    return [...this.peers].filter(([, p]) => p.down).map(([a]) => a);
  }

  handle(from: Address, message: HeartbeatMessage, now: Millis): void {
    this.heard(from, now);
    if (message.type === 'Ping') {
      this.push({ to: from, channel: 'udp', message: { type: 'Pong', from: this.self, seq: message.seq } });
    } else if (message.type === 'Data') {
      this.events.push({ type: 'data', from, seq: message.seq, payload: message.payload });
    }
  }

  tick(now: Millis): void {
    if (now >= this.nextRoundAt) {
      for (const address of this.peers.keys()) {
        this.push({ to: address, channel: 'udp', message: { type: 'Ping', from: this.self, seq: ++this.seq } });
      }
      this.nextRoundAt = now + this.config.intervalMs + this.random.int(this.config.intervalJitterMs + 1);
    }
    for (const [address, peer] of this.peers) {
      if (!peer.down && now - peer.lastHeardAt >= this.config.timeoutMs) {
        peer.down = true;
        this.events.push({ type: 'peer-down', peer: address });
      }
    }
  }

  nextDeadline(): Millis | undefined {
    let deadline = this.nextRoundAt;
    for (const peer of this.peers.values()) {
      if (!peer.down) deadline = Math.min(deadline, peer.lastHeardAt + this.config.timeoutMs);
    }
    return deadline;
  }

  pollTransmit(): Transmit<HeartbeatMessage> | undefined {
    return this.outbox.shift();
  }

  pollEvent(): HeartbeatEvent | undefined {
    return this.events.shift();
  }

  private heard(from: Address, now: Millis): void {
    const peer = this.peers.get(from);
    if (peer === undefined) {
      this.peers.set(from, { lastHeardAt: now, down: false });
      return;
    }
    peer.lastHeardAt = now;
    if (peer.down) {
      peer.down = false;
      this.events.push({ type: 'peer-up', peer: from });
    }
  }

  private push(t: Transmit<HeartbeatMessage>): void {
    if (this.outbox.length >= HEARTBEAT_OUTBOX_MAX) throw new FlotillaError('FLO_QUEUE_FULL', 'heartbeat outbox');
    this.outbox.push(t);
  }
}
