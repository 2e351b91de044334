/**
 * The simulated network between node addresses: per-link latency and jitter, UDP loss,
 * duplication and reordering, TCP reliable in-order delivery, one-way and two-way
 * partitions, and traffic counters. All randomness comes from one injected `Random`, so
 * a run replays exactly from its seed.
 */
import type { Millis } from '../src/core/clock.js';
import { FlotillaError } from '../src/core/errors.js';
import type { Channel } from '../src/core/machine.js';
import type { Address } from '../src/core/model.js';
import type { Random } from '../src/core/random.js';
import type { Scheduler } from './scheduler.js';
import { NetworkCounters, type DropReason, type NetworkStats } from './network-stats.js';

export type { DropReason, NetworkStats } from './network-stats.js';

/** How one directed link behaves. */
export interface LinkConfig {
  /** Fixed one-way delay, ms. Default 1. Raise it to model a WAN. */
  readonly latencyMs: number;
  /**
   * Extra delay per message, ms: with `jitterDistribution` 'uniform', drawn uniformly from
   * the whole milliseconds 0..jitterMs; with 'pareto', the scale of the heavy tail (see
   * there). Default 1. Jitter reorders UDP datagrams sent closer together than it.
   */
  readonly jitterMs: number;
  /**
   * Shape of the jitter. 'uniform' (default): bounded, every value equally likely.
   * 'pareto': heavy-tailed, as real networks and busy hosts are: a Lomax (Pareto II) draw
   * `jitterMs * (U^(-1/jitterTailIndex) - 1)`, floored to whole ms and capped at
   * `jitterMaxMs`. With jitterMs 30 and index 3, half the messages get under 8 ms, 99 %
   * under 110 ms, and one in 10,000 over 600 ms.
   */
  readonly jitterDistribution: JitterDistribution;
  /** Tail index (shape) of the 'pareto' jitter, > 0; lower is heavier. Default 3. */
  readonly jitterTailIndex: number;
  /** Cap of one 'pareto' jitter draw, ms. Default 10,000. */
  readonly jitterMaxMs: number;
  /** Probability that a UDP datagram is lost, in [0, 1]. Default 0. TCP is never lossy. */
  readonly lossProbability: number;
  /** Probability that a UDP datagram arrives twice (the copy has its own delay), in [0, 1]. Default 0. */
  readonly duplicateProbability: number;
  /** Probability that a UDP datagram is held back by up to `reorderDelayMs` more, in [0, 1]. Default 0. */
  readonly reorderProbability: number;
  /** Maximum extra hold-back of a reordered datagram (whole ms, uniform from 1), ms. Default 20. */
  readonly reorderDelayMs: number;
}

/** How the jitter of a link is distributed. */
export type JitterDistribution = 'uniform' | 'pareto';

/** A LAN-like link: about 1-2 ms one way, nothing lost. */
export const DEFAULT_LINK: LinkConfig = {
  latencyMs: 1,
  jitterMs: 1,
  jitterDistribution: 'uniform',
  jitterTailIndex: 3,
  jitterMaxMs: 10_000,
  lossProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  reorderDelayMs: 20,
};

/** What the receiving side did with an arriving message; anything but 'delivered' is a drop. */
export type ArrivalOutcome = 'delivered' | 'queued' | Extract<DropReason, 'down' | 'unroutable' | 'overflow'>;

/** Encode/decode pair used to size messages and, optionally, to deliver decoded copies. */
export interface SimCodec<M> {
  encode(message: M): Uint8Array;
  decode(bytes: Uint8Array): M;
}

/** Options of a network. */
export interface NetworkOptions<M> {
  readonly scheduler: Scheduler;
  readonly random: Random;
  /**
   * Called when a message reaches `to`; says what became of it. `sendIndex` numbers every
   * send in order, so the receiver can tell a message sent before it restarted.
   */
  readonly arrive: (from: Address, to: Address, channel: Channel, message: M, sendIndex: number) => ArrivalOutcome;
  /** Default config of every link. */
  readonly link?: Partial<LinkConfig>;
  /** Tag used for per-type counters; defaults to the message's `type` field. */
  readonly typeOf?: (message: M) => string;
  /** Size of a message in bytes on the wire; without it, byte counters stay at 0. */
  readonly sizeOf?: (message: M) => number;
  /**
   * Size only every Nth message of each type and count the others at that type's average.
   * Default 1 (size all). Sizing encodes, which dominates CPU at scale; 1 in 16 keeps the
   * byte figures within a few percent.
   */
  readonly sizeSampleEvery?: number;
  /** Codec: sizes messages exactly when `sizeOf` is absent, and enables `deliverDecodedCopy`. */
  readonly codec?: SimCodec<M>;
  /**
   * Deliver `decode(encode(message))` instead of the sent object, so a run exercises the
   * codec and catches a sender that mutates a message after sending it. Default false.
   */
  readonly deliverDecodedCopy?: boolean;
}

/** Options of a partition. */
export interface PartitionOptions {
  /** Cut only messages from group A to group B; B still reaches A. Default false. */
  readonly oneWay?: boolean;
  /**
   * Hold TCP messages across the cut instead of losing them, and deliver them in order
   * when the cut heals, as the kernel does when a link goes down for less than TCP's
   * retransmission timeout: what one side sent before and during the split reaches the
   * other side right after the heal. UDP is still lost. Default false.
   */
  readonly holdTcp?: boolean;
}

/** Most TCP messages one cut holds (a socket's send buffer is bounded too); later ones are lost. */
export const HELD_TCP_MESSAGES_MAX = 10_000;

/** A TCP message held by a cut until it heals. */
interface HeldTcp<M> {
  readonly from: Address;
  readonly to: Address;
  readonly message: M;
  readonly bytes: Uint8Array | undefined;
  readonly type: string;
  readonly index: number;
}

/** Sees every message as it is sent, before the network decides its fate. */
export type SendTap<M> = (from: Address, to: Address, channel: Channel, message: M, now: Millis) => void;

interface Cut {
  readonly id: number;
  readonly a: ReadonlySet<Address>;
  readonly b: ReadonlySet<Address>;
  readonly oneWay: boolean;
  /** TCP messages held for delivery at the heal, or undefined when the cut loses them. */
  readonly held: HeldTcp<unknown>[] | undefined;
}

/** The simulated network. */
export class SimNetwork<M> {
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly arrive: NetworkOptions<M>['arrive'];
  private readonly typeOf: (message: M) => string;
  private readonly codec: SimCodec<M> | undefined;
  private readonly decodedCopies: boolean;
  private readonly counters: NetworkCounters<M>;
  private defaults: LinkConfig;
  private readonly overrides = new Map<string, Partial<LinkConfig>>();
  private readonly resolved = new Map<string, LinkConfig>();
  private cuts: Cut[] = [];
  private nextCutId = 1;
  private sends = 0;
  private readonly taps: SendTap<M>[] = [];
  /** Last scheduled TCP arrival per directed link, to keep streams in order. */
  private readonly tcpTail = new Map<string, Millis>();

  constructor(options: NetworkOptions<M>) {
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.arrive = options.arrive;
    this.typeOf = options.typeOf ?? defaultTypeOf;
    this.codec = options.codec;
    this.decodedCopies = options.deliverDecodedCopy ?? false;
    if (this.decodedCopies && this.codec === undefined) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'deliverDecodedCopy needs a codec');
    }
    const codec = this.codec;
    const sizeOf = options.sizeOf ?? (codec === undefined ? undefined : (m: M) => codec.encode(m).byteLength);
    const every = options.sizeSampleEvery ?? 1;
    if (!Number.isInteger(every) || every < 1) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `sizeSampleEvery must be a positive integer, got ${every}`);
    }
    this.counters = new NetworkCounters(sizeOf, every);
    this.defaults = validateLink({ ...DEFAULT_LINK, ...options.link });
  }

  /** Change the default config of every link (per-link overrides still apply on top). */
  setDefaults(config: Partial<LinkConfig>): void {
    this.defaults = validateLink({ ...this.defaults, ...config });
    this.resolved.clear();
    for (const [key, partial] of this.overrides) this.resolved.set(key, validateLink({ ...this.defaults, ...partial }));
  }

  /** Current default link config. */
  get defaultLink(): LinkConfig {
    return this.defaults;
  }

  /** Override the link between `a` and `b` (both directions unless `oneWay`: then a -> b only). */
  setLink(a: Address, b: Address, config: Partial<LinkConfig>, options: PartitionOptions = {}): void {
    const keys = options.oneWay === true ? [linkKey(a, b)] : [linkKey(a, b), linkKey(b, a)];
    for (const key of keys) {
      const merged = { ...this.overrides.get(key), ...config };
      this.overrides.set(key, merged);
      this.resolved.set(key, validateLink({ ...this.defaults, ...merged }));
    }
  }

  /** Remove every per-link override. */
  clearLinks(): void {
    this.overrides.clear();
    this.resolved.clear();
  }

  /** Effective config of the directed link `from -> to`. */
  link(from: Address, to: Address): LinkConfig {
    if (this.resolved.size === 0) return this.defaults;
    return this.resolved.get(linkKey(from, to)) ?? this.defaults;
  }

  /**
   * Cut the network between two groups of addresses; returns an id for `heal(id)`.
   * Messages already in flight across the cut are lost when they arrive.
   */
  partition(groupA: Iterable<Address>, groupB: Iterable<Address>, options: PartitionOptions = {}): number {
    const cut: Cut = { id: this.nextCutId++, a: new Set(groupA), b: new Set(groupB), oneWay: options.oneWay ?? false, held: options.holdTcp === true ? [] : undefined };
    this.cuts.push(cut);
    return cut.id;
  }

  /** Remove one cut, or every cut when no id is given. */
  heal(id?: number): void {
    const healed = this.cuts.filter((c) => id === undefined || c.id === id);
    this.cuts = id === undefined ? [] : this.cuts.filter((c) => c.id !== id);
    for (const cut of healed) {
      // By send order, so each stream stays in order (in-flight messages were held on arrival).
      const held = [...((cut.held ?? []) as HeldTcp<M>[])].sort((x, y) => x.index - y.index);
      for (const h of held) {
        // Another cut may still separate the two; it then decides (holds or loses).
        if (this.holdOrDrop(h)) continue;
        const link = this.link(h.from, h.to);
        this.sendTcp(h.from, h.to, h.message, h.bytes, link.latencyMs, h.type, h.index);
      }
    }
  }

  /** Whether `from` currently cannot reach `to`. */
  isCut(from: Address, to: Address): boolean {
    return this.cutBetween(from, to) !== undefined;
  }

  private cutBetween(from: Address, to: Address): Cut | undefined {
    for (const c of this.cuts) {
      if (c.a.has(from) && c.b.has(to)) return c;
      if (!c.oneWay && c.b.has(from) && c.a.has(to)) return c;
    }
    return undefined;
  }

  /**
   * True when a cut stands between the ends of TCP message `h`: the cut holds it (or
   * loses it, counted, when it does not hold TCP or is full).
   */
  private holdOrDrop(h: HeldTcp<M>): boolean {
    const cut = this.cutBetween(h.from, h.to);
    if (cut === undefined) return false;
    if (cut.held !== undefined && cut.held.length < HELD_TCP_MESSAGES_MAX) cut.held.push(h);
    else this.counters.drop('partition', h.to);
    return true;
  }

  /** Counters since construction (or since `resetStats`). */
  stats(): NetworkStats {
    return this.counters.snapshot();
  }

  /** Zero every counter, e.g. after a cluster has formed, to measure steady state. */
  resetStats(): void {
    this.counters.reset();
  }

  /** Record a drop decided after arrival (e.g. a paused node crashed with a full inbox). */
  countDrop(reason: DropReason, to: Address): void {
    this.counters.drop(reason, to);
  }

  /** Record the late delivery of a message that arrived as 'queued'. */
  countReceived(to: Address, message: M): void {
    this.counters.received(to, this.typeOf(message));
  }

  /** Watch every send (e.g. to time a joiner's retries). */
  tap(observer: SendTap<M>): void {
    this.taps.push(observer);
  }

  /** Number of sends so far; the index the next send will get. */
  get sendIndex(): number {
    return this.sends;
  }

  /** Send `message` from `from` to `to` over `channel`. */
  send(from: Address, to: Address, channel: Channel, message: M): void {
    const index = this.sends++;
    for (const tap of this.taps) tap(from, to, channel, message, this.scheduler.now);
    const type = this.typeOf(message);
    const bytes = this.decodedCopies ? this.codec!.encode(message) : undefined;
    this.counters.sent(from, type, message, bytes?.byteLength);
    if (channel === 'tcp' && this.holdOrDrop({ from, to, message, bytes, type, index })) return;
    if (this.isCut(from, to)) {
      this.counters.drop('partition', to);
      return;
    }
    const link = this.link(from, to);
    const delay = link.latencyMs + this.jitter(link);
    if (channel === 'tcp') {
      this.sendTcp(from, to, message, bytes, delay, type, index);
      return;
    }
    if (link.lossProbability > 0 && this.random.next() < link.lossProbability) {
      this.counters.drop('loss', to);
      return;
    }
    let udpDelay = delay;
    if (link.reorderProbability > 0 && this.random.next() < link.reorderProbability) {
      udpDelay += 1 + this.random.int(Math.max(1, link.reorderDelayMs));
    }
    this.schedule(from, to, 'udp', message, bytes, udpDelay, type, index);
    if (link.duplicateProbability > 0 && this.random.next() < link.duplicateProbability) {
      this.counters.duplicated();
      const copyDelay = link.latencyMs + this.random.int(link.jitterMs + 2);
      this.schedule(from, to, 'udp', message, bytes, copyDelay, type, index);
    }
  }

  /** One jitter draw for `link`, whole ms. */
  private jitter(link: LinkConfig): Millis {
    if (link.jitterMs <= 0) return 0;
    if (link.jitterDistribution === 'uniform') return this.random.int(link.jitterMs + 1);
    // 1 - next() lies in (0, 1], so the power is finite.
    const draw = link.jitterMs * ((1 - this.random.next()) ** (-1 / link.jitterTailIndex) - 1);
    return Math.min(link.jitterMaxMs, Math.floor(draw));
  }

  private sendTcp(from: Address, to: Address, message: M, bytes: Uint8Array | undefined, delay: Millis, type: string, index: number): void {
    const key = linkKey(from, to);
    const tail = this.tcpTail.get(key) ?? 0;
    const arrival = Math.max(this.scheduler.now + delay, tail);
    this.tcpTail.set(key, arrival);
    this.schedule(from, to, 'tcp', message, bytes, arrival - this.scheduler.now, type, index);
  }

  private schedule(
    from: Address,
    to: Address,
    channel: Channel,
    message: M,
    bytes: Uint8Array | undefined,
    delay: Millis,
    type: string,
    index: number,
  ): void {
    this.scheduler.after(delay, () => {
      if (channel === 'tcp' && this.holdOrDrop({ from, to, message, bytes, type, index })) return;
      if (this.isCut(from, to)) {
        this.counters.drop('partition', to);
        return;
      }
      const delivered = bytes === undefined ? message : this.codec!.decode(bytes);
      const outcome = this.arrive(from, to, channel, delivered, index);
      if (outcome === 'delivered') this.counters.received(to, type);
      else if (outcome !== 'queued') this.counters.drop(outcome, to);
    });
  }
}

function linkKey(from: Address, to: Address): string {
  return `${from}>${to}`;
}

function defaultTypeOf(message: unknown): string {
  if (typeof message === 'object' && message !== null && 'type' in message) {
    const t = (message as { type: unknown }).type;
    if (typeof t === 'string') return t;
  }
  return 'unknown';
}

type NumericLinkKey = { [K in keyof LinkConfig]: LinkConfig[K] extends number ? K : never }[keyof LinkConfig];

function validateLink(link: LinkConfig): LinkConfig {
  const probability = (name: NumericLinkKey): void => {
    const v = link[name];
    if (!(v >= 0 && v <= 1)) throw new FlotillaError('FLO_CONFIG_INVALID', `${name} must be in [0, 1], got ${v}`);
  };
  const nonNegative = (name: NumericLinkKey): void => {
    const v = link[name];
    if (!Number.isSafeInteger(v) || v < 0) throw new FlotillaError('FLO_CONFIG_INVALID', `${name} must be a whole number of ms >= 0, got ${v}`);
  };
  probability('lossProbability');
  probability('duplicateProbability');
  probability('reorderProbability');
  nonNegative('latencyMs');
  nonNegative('jitterMs');
  nonNegative('reorderDelayMs');
  nonNegative('jitterMaxMs');
  if (link.jitterDistribution !== 'uniform' && link.jitterDistribution !== 'pareto') {
    throw new FlotillaError('FLO_CONFIG_INVALID', `jitterDistribution must be 'uniform' or 'pareto', got ${String(link.jitterDistribution)}`);
  }
  if (!(Number.isFinite(link.jitterTailIndex) && link.jitterTailIndex > 0)) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `jitterTailIndex must be a finite number > 0, got ${link.jitterTailIndex}`);
  }
  return link;
}
