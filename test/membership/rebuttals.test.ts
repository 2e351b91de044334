import { describe, expect, it } from 'vitest';
import { REBUTTAL_PEERS_MAX, Rebuttals } from '../../src/membership/rebuttals.js';
import type { Alive, Message } from '../../src/protocol/messages.js';
import { Harness, addr, joinedCluster } from './harness.js';

const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

const joined = (seed: number): Harness => joinedCluster(seed, names);

/** Makes n3 refute once, so its incarnation moves past `old`; returns `old`. */
function refuteOnce(h: Harness): number {
  const old = h.node('n3').localState().incarnation;
  h.act('n3', (m, now) => m.handle(addr('n2'), { type: 'Suspect', node: 'n3', incarnation: old, from: 'n2' }, now));
  expect(h.node('n3').localState().incarnation).toBeGreaterThan(old);
  return old;
}

function alivesOfN3(messages: readonly Message[]): Alive[] {
  return messages.filter((m): m is Alive => m.type === 'Alive' && m.node === 'n3');
}

describe('Rebuttals', () => {
  it('owes each sender at most one reply per interval', () => {
    const r = new Rebuttals(500);
    r.note('a:1', 1_000);
    r.note('a:1', 1_200);
    r.note('b:1', 1_200);
    expect(r.drain()).toEqual(['a:1', 'b:1']);
    expect(r.drain()).toEqual([]);
    r.note('a:1', 1_499);
    expect(r.pendingCount).toBe(0);
    r.note('a:1', 1_500);
    expect(r.drain()).toEqual(['a:1']);
  });

  it('remembers a bounded number of senders', () => {
    const r = new Rebuttals(1_000);
    for (let i = 0; i <= REBUTTAL_PEERS_MAX; i++) r.note(`p${i}:1`, 0);
    expect(r.drain()).toHaveLength(REBUTTAL_PEERS_MAX + 1);
    // The first sender was forgotten to make room, so it is owed a reply again.
    r.note('p0:1', 1);
    r.note(`p${REBUTTAL_PEERS_MAX}:1`, 1);
    expect(r.drain()).toEqual(['p0:1']);
  });
});

describe('SwimMachine: answering a refuted accusation', () => {
  it('answers a stale Suspect in gossip with its current Alive, directly and rate-limited', () => {
    const h = joined(31);
    const old = refuteOnce(h);
    const current = h.node('n3').localState().incarnation;
    const stale: Message = { type: 'Gossip', from: 'n1', updates: [{ type: 'Suspect', node: 'n3', incarnation: old, from: 'n1' }] };
    const sentBefore = h.sent.length;
    h.act('n3', (m, now) => m.handle(addr('n1'), stale, now));
    h.act('n3', (m, now) => m.handle(addr('n1'), stale, now));
    const replies = h.sent.slice(sentBefore).filter((p) => p.to === addr('n1') && p.message.type === 'Alive');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.channel).toBe('udp');
    expect(alivesOfN3(replies.map((p) => p.message))[0]!.incarnation).toBe(current);
    expect(h.node('n3').localState().incarnation).toBe(current);
    expect(h.node('n3').stats().rebuttals).toBe(1);
    h.now += h.node('n3').config.rebuttalIntervalMs;
    h.act('n3', (m, now) => m.handle(addr('n1'), { type: 'Dead', node: 'n3', incarnation: old, from: 'n1', left: false }, now));
    expect(h.node('n3').stats().rebuttals).toBe(2);
  });

  it('answers a Ping that carries a stale Suspect with an Ack that leads with its Alive', () => {
    const h = joined(32);
    const old = refuteOnce(h);
    const current = h.node('n3').localState().incarnation;
    // Let the refutation spread and leave n3's gossip queue, so only the answer can carry it.
    h.runFor(15_000);
    expect(h.node('n3').stats().gossipQueued).toBe(0);
    const sentBefore = h.sent.length;
    const ping: Message = { type: 'Ping', seqNo: 77, from: 'n1', target: 'n3', updates: [{ type: 'Suspect', node: 'n3', incarnation: old, from: 'n1' }] };
    h.act('n3', (m, now) => m.handle(addr('n1'), ping, now));
    const out = h.sent.slice(sentBefore);
    const ack = out.find((p) => p.message.type === 'Ack')?.message;
    expect(ack?.type).toBe('Ack');
    if (ack?.type !== 'Ack') return;
    expect(ack.updates[0]).toMatchObject({ type: 'Alive', node: 'n3', incarnation: current });
    // Said once in the Ack, and not again in a separate message.
    expect(alivesOfN3(ack.updates)).toHaveLength(1);
    expect(out.filter((p) => p.message.type === 'Alive')).toHaveLength(0);
  });

  it('a member that missed a refutation learns it from the accused when nobody else tells it', () => {
    const h = joined(33);
    // n1 misses n3's refutation entirely, and later hears the refuted rumour again.
    h.drop = (p) => p.to === addr('n1') && carriesNewsOfN3(p.message);
    const old = refuteOnce(h);
    h.runFor(15_000);
    expect(h.node('n1').member('n3')!.incarnation).toBe(old);
    // From now on only n3 itself can tell n1: every other source of news about n3 is lost.
    h.drop = (p) => p.to === addr('n1') && p.from !== addr('n3') && carriesNewsOfN3(p.message);
    h.act('n1', (m, now) => m.handle(addr('n2'), { type: 'Suspect', node: 'n3', incarnation: old, from: 'n2' }, now));
    expect(h.stateOf('n1', 'n3')).toBe('suspect');
    expect(h.runUntilTrue(() => h.stateOf('n1', 'n3') === 'alive', 20_000)).toBe(true);
    expect(h.node('n1').member('n3')!.incarnation).toBeGreaterThan(old);
    h.runFor(30_000);
    for (const o of names) expect(h.eventsOf(o, 'NodeFailed')).toHaveLength(0);
  });
});

/** Whether `message` says anything about n3 (gossip, member lists, views). */
function carriesNewsOfN3(message: Message): boolean {
  if (message.type === 'Alive' || message.type === 'Suspect' || message.type === 'Dead') return message.node === 'n3';
  if (message.type === 'PushPull') return message.states.some((s) => s.nodeId === 'n3');
  if (message.type === 'MembersUpdate') return message.view.members.some((r) => r.nodeId === 'n3');
  return 'updates' in message && message.updates.some((u) => u.node === 'n3');
}
