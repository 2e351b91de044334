import { describe, expect, it } from 'vitest';
import type { Channel } from '../../src/core/machine.js';
import { SeededRandom } from '../../src/core/random.js';
import { SimNetwork, type ArrivalOutcome, type NetworkOptions } from '../../sim/network.js';
import { Scheduler } from '../../sim/scheduler.js';

interface Msg {
  type: string;
  seq: number;
  body?: string;
}

interface Arrival {
  at: number;
  from: string;
  to: string;
  channel: Channel;
  message: Msg;
}

function setup(options: Partial<NetworkOptions<Msg>> = {}, outcome: ArrivalOutcome = 'delivered') {
  const scheduler = new Scheduler(0);
  const arrivals: Arrival[] = [];
  const net = new SimNetwork<Msg>({
    scheduler,
    random: new SeededRandom(7),
    arrive: (from, to, channel, message) => {
      arrivals.push({ at: scheduler.now, from, to, channel, message });
      return outcome;
    },
    ...options,
  });
  return { scheduler, net, arrivals };
}

function sendMany(net: SimNetwork<Msg>, scheduler: Scheduler, count: number, channel: Channel, spacingMs = 0): void {
  for (let i = 0; i < count; i++) {
    if (spacingMs > 0 && i > 0) scheduler.runFor(spacingMs);
    net.send('a', 'b', channel, { type: 'T', seq: i });
  }
  scheduler.runFor(10_000);
}

describe('SimNetwork', () => {
  it('delays by latency plus jitter in whole milliseconds', () => {
    const { net, scheduler, arrivals } = setup({ link: { latencyMs: 5, jitterMs: 3 } });
    sendMany(net, scheduler, 2_000, 'udp');
    const delays = new Set(arrivals.map((a) => a.at));
    expect([...delays].sort()).toEqual([5, 6, 7, 8]);
  });

  it('loses about lossProbability of UDP datagrams and no TCP message', () => {
    const { net, scheduler, arrivals } = setup({ link: { lossProbability: 0.2 } });
    sendMany(net, scheduler, 10_000, 'udp');
    expect(arrivals.length).toBeGreaterThan(7_700);
    expect(arrivals.length).toBeLessThan(8_300);
    expect(net.stats().dropped.loss).toBe(10_000 - arrivals.length);
    arrivals.length = 0;
    sendMany(net, scheduler, 1_000, 'tcp');
    expect(arrivals.length).toBe(1_000);
  });

  it('duplicates about duplicateProbability of UDP datagrams', () => {
    const { net, scheduler, arrivals } = setup({ link: { duplicateProbability: 0.1 } });
    sendMany(net, scheduler, 10_000, 'udp');
    const copies = arrivals.length - 10_000;
    expect(copies).toBeGreaterThan(850);
    expect(copies).toBeLessThan(1_150);
    expect(net.stats().duplicatedMessages).toBe(copies);
  });

  it('reorders UDP datagrams through jitter and the reorder knob, never TCP', () => {
    const inversions = (arr: Arrival[]): number => arr.filter((a, i) => i > 0 && a.message.seq < arr[i - 1]!.message.seq).length;
    const udp = setup({ link: { jitterMs: 0, reorderProbability: 0.1, reorderDelayMs: 50 } });
    sendMany(udp.net, udp.scheduler, 1_000, 'udp', 1);
    expect(inversions(udp.arrivals)).toBeGreaterThan(50);
    const tcp = setup({ link: { jitterMs: 20 } });
    sendMany(tcp.net, tcp.scheduler, 1_000, 'tcp', 1);
    expect(tcp.arrivals.map((a) => a.message.seq)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('cuts both directions of a two-way partition and one direction of a one-way one', () => {
    const { net, scheduler, arrivals } = setup();
    const cut = net.partition(['a'], ['b', 'c']);
    for (const [from, to] of [['a', 'b'], ['b', 'a'], ['c', 'a'], ['b', 'c']] as const) net.send(from, to, 'tcp', { type: 'T', seq: 0 });
    scheduler.runFor(100);
    expect(arrivals.map((a) => `${a.from}>${a.to}`)).toEqual(['b>c']);
    net.heal(cut);
    net.partition(['a'], ['b'], { oneWay: true });
    arrivals.length = 0;
    net.send('a', 'b', 'udp', { type: 'T', seq: 1 });
    net.send('b', 'a', 'udp', { type: 'T', seq: 2 });
    scheduler.runFor(100);
    expect(arrivals.map((a) => `${a.from}>${a.to}`)).toEqual(['b>a']);
    expect(net.stats().dropped.partition).toBe(4);
    net.heal();
    expect(net.isCut('a', 'b')).toBe(false);
  });

  it('with holdTcp, delivers TCP sent across the cut (and in flight when it came) in order at the heal, and loses UDP', () => {
    const { net, scheduler, arrivals } = setup({ link: { latencyMs: 10 } });
    net.send('a', 'b', 'tcp', { type: 'T', seq: 0 });
    scheduler.runFor(5);
    const cut = net.partition(['a'], ['b'], { holdTcp: true });
    net.send('a', 'b', 'tcp', { type: 'T', seq: 1 });
    net.send('a', 'b', 'udp', { type: 'T', seq: 2 });
    net.send('b', 'a', 'tcp', { type: 'T', seq: 3 });
    net.send('a', 'b', 'tcp', { type: 'T', seq: 4 });
    scheduler.runFor(1_000);
    expect(arrivals).toEqual([]);
    net.heal(cut);
    scheduler.runFor(100);
    expect(arrivals.map((a) => `${a.from}>${a.to} ${a.channel} ${a.message.seq}`)).toEqual(['a>b tcp 0', 'a>b tcp 1', 'b>a tcp 3', 'a>b tcp 4']);
    expect(net.stats().dropped.partition).toBe(1);
  });

  it('loses messages in flight across a cut made after they left', () => {
    const { net, scheduler, arrivals } = setup({ link: { latencyMs: 50 } });
    net.send('a', 'b', 'tcp', { type: 'T', seq: 0 });
    scheduler.runFor(10);
    net.partition(['a'], ['b']);
    scheduler.runFor(100);
    expect(arrivals).toHaveLength(0);
    expect(net.stats().dropped.partition).toBe(1);
  });

  it('applies per-link overrides on top of the defaults', () => {
    const { net, scheduler, arrivals } = setup({ link: { latencyMs: 1, jitterMs: 0 } });
    net.setLink('a', 'b', { latencyMs: 100 });
    net.setLink('a', 'c', { latencyMs: 30 }, { oneWay: true });
    net.send('a', 'b', 'udp', { type: 'T', seq: 0 });
    net.send('b', 'a', 'udp', { type: 'T', seq: 1 });
    net.send('a', 'c', 'udp', { type: 'T', seq: 2 });
    net.send('c', 'a', 'udp', { type: 'T', seq: 3 });
    net.send('b', 'c', 'udp', { type: 'T', seq: 4 });
    scheduler.runFor(1_000);
    expect(Object.fromEntries(arrivals.map((a) => [a.message.seq, a.at]))).toEqual({ 0: 100, 1: 100, 2: 30, 3: 1, 4: 1 });
    net.setDefaults({ latencyMs: 7 });
    expect(net.link('a', 'b').latencyMs).toBe(100);
    expect(net.link('b', 'c').latencyMs).toBe(7);
    net.clearLinks();
    expect(net.link('a', 'b').latencyMs).toBe(7);
  });

  it('counts messages and bytes per type and per node, and drops by reason', () => {
    const { net, scheduler } = setup({ sizeOf: (m) => 10 + (m.body?.length ?? 0) }, 'down');
    net.send('a', 'b', 'udp', { type: 'Ping', seq: 1 });
    net.send('a', 'b', 'udp', { type: 'Ping', seq: 2 });
    net.send('b', 'a', 'tcp', { type: 'Data', seq: 1, body: 'hello' });
    scheduler.runFor(100);
    const stats = net.stats();
    expect(stats.byType).toEqual({ Data: { messages: 1, bytes: 15 }, Ping: { messages: 2, bytes: 20 } });
    expect(stats.sentMessages).toBe(3);
    expect(stats.sentBytes).toBe(35);
    expect(stats.byNode['a']).toMatchObject({ sentMessages: 2, sentBytes: 20, droppedMessages: 1 });
    expect(stats.dropped.down).toBe(3);
    expect(stats.deliveredMessages).toBe(0);
    net.resetStats();
    expect(net.stats().sentMessages).toBe(0);
  });

  it('sizes a sample of messages and extrapolates the rest', () => {
    let sized = 0;
    const { net, scheduler } = setup({ sizeOf: () => (sized++, 100), sizeSampleEvery: 10 });
    sendMany(net, scheduler, 1_000, 'udp');
    expect(sized).toBeGreaterThan(80);
    expect(sized).toBeLessThan(120);
    expect(net.stats().sentBytes).toBe(100_000);
    expect(net.stats().bytesEstimated).toBe(true);
  });

  it('delivers a decoded copy when asked, so senders cannot share objects with receivers', () => {
    const codec = {
      encode: (m: Msg) => new TextEncoder().encode(JSON.stringify(m)),
      decode: (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Msg,
    };
    const { net, scheduler, arrivals } = setup({ codec, deliverDecodedCopy: true });
    const sent: Msg = { type: 'T', seq: 1, body: 'x' };
    net.send('a', 'b', 'udp', sent);
    sent.body = 'mutated after send';
    scheduler.runFor(10);
    expect(arrivals[0]!.message).toEqual({ type: 'T', seq: 1, body: 'x' });
    expect(net.stats().sentBytes).toBe(codec.encode({ type: 'T', seq: 1, body: 'x' }).byteLength);
  });

  it('shows every send to taps, lost ones included', () => {
    const { net, scheduler } = setup({ link: { lossProbability: 1 } });
    const seen: string[] = [];
    net.tap((from, to, channel, message, now) => seen.push(`${now} ${from}>${to} ${channel} ${message.seq}`));
    net.send('a', 'b', 'udp', { type: 'T', seq: 1 });
    net.partition(['a'], ['b']);
    net.send('a', 'b', 'tcp', { type: 'T', seq: 2 });
    scheduler.runFor(10);
    expect(seen).toEqual(['0 a>b udp 1', '0 a>b tcp 2']);
    expect(net.sendIndex).toBe(2);
  });

  it('rejects invalid link config', () => {
    expect(() => setup({ link: { lossProbability: 1.5 } })).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
    expect(() => setup({ link: { latencyMs: 0.5 } })).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
    expect(() => setup({ deliverDecodedCopy: true })).toThrow(expect.objectContaining({ code: 'FLO_CONFIG_INVALID' }));
  });
});

describe('SimNetwork: heavy-tailed jitter', () => {
  it('draws Pareto jitter: mostly small, a long tail, capped, and reproducible from the seed', () => {
    const run = () => {
      const { net, scheduler, arrivals } = setup({ link: { latencyMs: 1, jitterMs: 30, jitterDistribution: 'pareto', jitterTailIndex: 3, jitterMaxMs: 2_000 } });
      sendMany(net, scheduler, 20_000, 'udp');
      return arrivals.map((a) => a.at).sort((x, y) => x - y);
    };
    const delays = run();
    const quantile = (q: number): number => delays[Math.floor(q * (delays.length - 1))]!;
    // Lomax(scale 30, index 3): median 7.8, p99 109 (plus 1 ms of latency, floored).
    expect(quantile(0.5)).toBeGreaterThanOrEqual(6);
    expect(quantile(0.5)).toBeLessThanOrEqual(10);
    expect(quantile(0.99)).toBeGreaterThanOrEqual(90);
    expect(quantile(0.99)).toBeLessThanOrEqual(130);
    expect(delays[delays.length - 1]).toBeGreaterThan(300);
    expect(delays[delays.length - 1]).toBeLessThanOrEqual(2_001);
    expect(delays[0]).toBe(1);
    expect(run()).toEqual(delays);
  });

  it('refuses a bad distribution or tail index', () => {
    expect(() => setup({ link: { jitterDistribution: 'normal' as never } })).toThrow(/jitterDistribution/);
    expect(() => setup({ link: { jitterTailIndex: 0 } })).toThrow(/jitterTailIndex/);
  });
});
