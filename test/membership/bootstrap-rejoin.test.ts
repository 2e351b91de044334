// The bootstrap rule for a node that was a member before (`formAllowed: false`): it never
// forms a cluster of its own beside a running one; it rejoins, gives up with
// FLO_REJOIN_NO_PEERS, or forms only together with a former peer restarting with it.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { Bootstrap } from '../../src/membership/bootstrap.js';
import { resolveSwimConfig } from '../../src/membership/config.js';
import { addr, Harness, joinedCluster } from './harness.js';

describe('Bootstrap with formAllowed false', () => {
  const config = resolveSwimConfig({ seedFormAfterAttempts: 2 });

  it('is not alone with only itself as seed: it attempts (to nobody) and gives up', () => {
    const b = new Bootstrap(['self:1'], 'self:1', config, new SeededRandom(1), false);
    expect(b.alone).toBe(false);
    b.begin(0);
    for (let i = 0; i < config.joinAttemptsMax; i++) expect(b.step(i).kind).toBe('attempt');
    expect(b.step(100).kind).toBe('give-up');
  });

  it('never forms on silence, even listed in its own seeds', () => {
    const b = new Bootstrap(['a:1', 'self:1'], 'self:1', config, new SeededRandom(1), false);
    b.begin(0);
    const kinds = Array.from({ length: config.joinAttemptsMax + 1 }, (_, i) => b.step(i).kind);
    expect(kinds.filter((k) => k === 'form')).toHaveLength(0);
    expect(kinds.at(-1)).toBe('give-up');
  });

  // [self, peers answering "still joining", expected step after seedFormAfterAttempts]
  const cases: [string, string[], 'form' | 'attempt'][] = [
    ['a:1', ['b:1'], 'form'],
    ['a:1', ['b:1', 'c:1'], 'form'],
    ['b:1', ['a:1'], 'attempt'],
    ['b:1', ['c:1', 'a:1'], 'attempt'],
    ['a:1', [], 'attempt'],
  ];
  it.each(cases)('%s with joining peers %j -> %s', (self, joining, expected) => {
    const b = new Bootstrap(['a:1', 'b:1', 'c:1'], self, config, new SeededRandom(1), false);
    b.begin(0);
    for (const peer of joining) b.noteSeedJoining(peer);
    expect(b.step(0).kind).toBe('attempt');
    expect(b.step(1).kind).toBe('attempt');
    expect(b.step(2).kind).toBe(expected);
  });

  it('with formAllowed true, a lone node still forms at once (the default is unchanged)', () => {
    expect(new Bootstrap(['self:1'], 'self:1', config, new SeededRandom(1)).alone).toBe(true);
  });
});

describe('SwimMachine: a restarted member', () => {
  it('whose seeds name only itself forms a cluster of its own at once without the rule', () => {
    const h = joinedCluster(70, ['a', 'b', 'c']);
    h.crash('c');
    h.runFor(500);
    h.add('c', { seeds: [addr('c')] });
    h.start('c');
    expect(h.eventsOf('c', 'JoinCompleted')[0]?.formed).toBe(true);
  });

  it('rejoins its running cluster through the addresses it last knew, never forming', () => {
    for (const seed of [71, 72, 73]) {
      const h = joinedCluster(seed, ['a', 'b', 'c']);
      h.crash('c');
      h.runFor(500);
      // The restart: only its own address as seed, plus the addresses it last knew.
      h.add('c', { seeds: [addr('c'), addr('a'), addr('b')], formAllowed: false });
      h.start('c');
      expect(h.runUntilTrue(() => h.node('c').status() === 'running', 30_000)).toBe(true);
      const joins = h.eventsOf('c', 'JoinCompleted');
      expect(joins).toHaveLength(1);
      expect(joins[0]!.formed).toBe(false);
      expect(h.node('c').master()).toBe(h.node('a').master());
      expect(h.runUntilTrue(() => h.node('a').membersView()!.members.some((r) => r.nodeId === 'c' && r.status === 'active'), 20_000)).toBe(true);
    }
  });

  it('that reaches nobody fails with FLO_REJOIN_NO_PEERS and never forms', () => {
    const h = new Harness(74);
    h.add('c', { seeds: [addr('c'), addr('gone1'), addr('gone2')], formAllowed: false });
    h.start('c');
    h.runFor(120_000);
    const m = h.node('c');
    expect(m.status()).toBe('failed');
    expect(m.joinError()?.code).toBe('FLO_REJOIN_NO_PEERS');
    expect(h.eventsOf('c', 'JoinCompleted')).toHaveLength(0);
    expect(h.sent.filter((p) => p.from === addr('c') && p.message.type === 'JoinRequest').length).toBe(2 * m.config.joinAttemptsMax);
  });

  it('restarting with the whole cluster forms exactly one cluster with its former peers', () => {
    for (const seed of [75, 76, 77]) {
      const h = new Harness(seed);
      const names = ['a', 'b', 'c'];
      for (const name of names) h.add(name, { seeds: names.map(addr), formAllowed: false });
      for (const name of [...names].reverse()) h.start(name);
      const allRunning = (): boolean => names.every((n) => h.node(n).status() === 'running');
      expect(h.runUntilTrue(allRunning, 30_000)).toBe(true);
      const formed = names.filter((n) => h.eventsOf(n, 'JoinCompleted')[0]?.formed === true);
      expect(formed).toEqual(['a']);
      expect(h.runUntilTrue(() => names.every((n) => h.node(n).membersView()?.members.length === 3), 20_000)).toBe(true);
    }
  });
});
