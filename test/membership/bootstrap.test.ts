import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { Bootstrap, joinBackoffMs } from '../../src/membership/bootstrap.js';
import { resolveSwimConfig } from '../../src/membership/config.js';
import { addr, Harness } from './harness.js';

describe('joinBackoffMs', () => {
  const config = resolveSwimConfig();
  // random.next() fixed at 0.5 -> no jitter; at 0 -> -25 %; just under 1 -> +25 %.
  const fixed = (value: number) => ({ next: () => value, int: (n: number) => Math.floor(value * n) });
  const cases: [number, number, number][] = [
    [0, 0.5, 100],
    [1, 0.5, 200],
    [5, 0.5, 3200],
    [7, 0.5, 10_000],
    [9, 0.5, 10_000],
    [0, 0, 75],
    [3, 0, 600],
    [3, 0.999999, 1000],
  ];
  it.each(cases)('attempt %i, random %d -> %i ms', (attempt, r, expected) => {
    expect(joinBackoffMs(attempt, config, fixed(r))).toBe(expected);
  });
});

describe('Bootstrap', () => {
  it('skips its own address and duplicates', () => {
    const b = new Bootstrap(['a:1', 'self:1', 'b:1', 'a:1'], 'self:1', resolveSwimConfig(), new SeededRandom(1));
    expect(b.seeds).toEqual(['a:1', 'b:1']);
    expect(b.selfIsSeed).toBe(true);
    expect(b.alone).toBe(false);
  });

  it('forms only after enough attempts and only with the lowest address among joining seeds', () => {
    const config = resolveSwimConfig({ seedFormAfterAttempts: 2 });
    const b = new Bootstrap(['b:1', 'c:1'], 'b:1', config, new SeededRandom(1));
    b.begin(0);
    b.noteSeedJoining('c:1');
    expect(b.step(0).kind).toBe('attempt');
    expect(b.step(1).kind).toBe('attempt');
    expect(b.step(2).kind).toBe('form');
    const c = new Bootstrap(['b:1', 'c:1'], 'c:1', config, new SeededRandom(1));
    c.begin(0);
    c.noteSeedJoining('b:1');
    for (let i = 0; i < 10; i++) expect(c.step(i).kind).toBe('attempt');
    expect(c.step(11).kind).toBe('give-up');
  });
});

describe('SwimMachine: bootstrap', () => {
  it('retries unreachable seeds with exponential backoff, then fails with FLO_NO_SEEDS_REACHABLE', () => {
    const h = new Harness(41);
    const seeds = ['ghost1:7946', 'ghost2:7946'];
    h.add('lonely', { seeds });
    const start = h.now;
    h.start('lonely');
    h.runFor(120_000);
    const attempts = h.sent.filter((p) => p.message.type === 'JoinRequest' && p.to === seeds[0]).map((p) => p.at - h.delayMs);
    // Every attempt tries every seed.
    expect(h.sent.filter((p) => p.message.type === 'JoinRequest' && p.to === seeds[1])).toHaveLength(10);
    expect(attempts).toHaveLength(10);
    expect(attempts[0]).toBe(start);
    for (let k = 0; k + 1 < attempts.length; k++) {
      const base = Math.min(10_000, 100 * 2 ** k);
      const gap = attempts[k + 1]! - attempts[k]!;
      expect(gap).toBeGreaterThanOrEqual(Math.floor(base * 0.75));
      expect(gap).toBeLessThanOrEqual(Math.ceil(base * 1.25));
    }
    const m = h.node('lonely');
    expect(m.status()).toBe('failed');
    expect(m.joinError()?.code).toBe('FLO_NO_SEEDS_REACHABLE');
    const failed = h.eventsOf('lonely', 'JoinFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error.code).toBe('FLO_NO_SEEDS_REACHABLE');
    // The failure comes one backoff after the tenth attempt.
    expect(failed[0]!.at - attempts[9]!).toBeGreaterThanOrEqual(7_500);
    expect(m.nextDeadline()).toBeUndefined();
  });

  it('joins once a seed comes up while it is still retrying', () => {
    const h = new Harness(42);
    h.add('late', { seeds: [addr('seed')] });
    h.start('late');
    h.runFor(1_000);
    h.add('seed');
    h.start('seed');
    expect(h.runUntilTrue(() => h.stateOf('seed', 'late') === 'alive' && h.stateOf('late', 'seed') === 'alive', 20_000)).toBe(true);
    expect(h.node('late').status()).toBe('running');
  });

  it('joins through a seed that is not the master (the seed forwards to the master)', () => {
    const h = new Harness(43);
    h.cluster(['m', 'a']);
    h.runFor(3_000);
    h.add('b', { seeds: [addr('a')] });
    h.start('b');
    expect(h.runUntilTrue(() => h.node('m').membersView()!.members.some((r) => r.nodeId === 'b'), 5_000)).toBe(true);
    expect(h.node('a').stats().joinsForwarded).toBeGreaterThanOrEqual(1);
    expect(h.node('b').status()).toBe('running');
  });

  it('a join refused by the verify hook fails with the hook code', () => {
    const h = new Harness(44);
    h.add('m', { verifyJoin: (req) => (req.authToken === 'secret' ? { ok: true } : { ok: false, code: 'FLO_AUTH_FAILED', reason: 'bad token' }) });
    h.start('m');
    h.add('intruder', { seeds: [addr('m')] });
    h.start('intruder');
    h.runFor(5_000);
    expect(h.node('intruder').status()).toBe('failed');
    expect(h.node('intruder').joinError()?.code).toBe('FLO_AUTH_FAILED');
    expect(h.node('m').member('intruder')).toBeUndefined();
  });

  it('a join to another cluster is refused', () => {
    const h = new Harness(45);
    h.add('m', { clusterId: 'blue' });
    h.start('m');
    h.add('x', { seeds: [addr('m')], clusterId: 'green' });
    h.start('x');
    h.runFor(5_000);
    expect(h.node('x').joinError()?.code).toBe('FLO_JOIN_REJECTED');
  });
});
