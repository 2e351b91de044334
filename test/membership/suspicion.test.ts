import { describe, expect, it } from 'vitest';
import { expectedConfirmations, Suspicion, suspicionMinTimeoutMs, suspicionTimeoutMs } from '../../src/membership/suspicion.js';

describe('suspicionMinTimeoutMs', () => {
  // memberlist's suspicion_test.go table: suspicionMult 3, interval 1 s.
  const cases: [number, number][] = [
    [5, 3000],
    [10, 3000],
    [50, 5096],
    [100, 6000],
    [1000, 9000],
    [0, 3000],
  ];
  it.each(cases)('n=%i -> %i ms', (n, expected) => {
    expect(suspicionMinTimeoutMs(3, n, 1000)).toBe(expected);
  });

  it('uses the defaults as documented: 4 * max(1, log10 N) * 1000', () => {
    expect(suspicionMinTimeoutMs(4, 3, 1000)).toBe(4000);
    expect(suspicionMinTimeoutMs(4, 100, 1000)).toBe(8000);
  });
});

describe('expectedConfirmations', () => {
  const cases: [number, number, number][] = [
    [3, 1, 0],
    [3, 2, 0],
    [3, 3, 1],
    [3, 4, 2],
    [3, 5, 3],
    [3, 100, 3],
    [0, 100, 0],
  ];
  it.each(cases)('configured %i, n=%i -> %i', (configured, n, expected) => {
    expect(expectedConfirmations(configured, n)).toBe(expected);
  });
});

describe('suspicionTimeoutMs', () => {
  // min 2 s, max 30 s, k = 3: memberlist's remainingSuspicionTime table plus its elapsed time.
  const cases: [number, number][] = [
    [0, 30_000],
    [1, 16_000],
    [2, 7_810],
    [3, 2_000],
    [4, 2_000],
  ];
  it.each(cases)('after %i confirmations -> %i ms', (confirmations, expected) => {
    expect(suspicionTimeoutMs(2000, 30_000, confirmations, 3)).toBe(expected);
  });

  it('is min at once when no confirmation is expected', () => {
    expect(suspicionTimeoutMs(2000, 30_000, 0, 0)).toBe(2000);
  });

  it('never increases as confirmations arrive', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let c = 0; c <= 10; c++) {
      const t = suspicionTimeoutMs(4000, 24_000, c, 5);
      expect(t).toBeLessThanOrEqual(previous);
      expect(t).toBeGreaterThanOrEqual(4000);
      previous = t;
    }
  });
});

describe('Suspicion', () => {
  it('counts only distinct confirmers other than the first accuser, up to k', () => {
    const s = new Suspicion(1000, 2000, 30_000, 3, 'a');
    expect(s.deadline).toBe(31_000);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.deadline).toBe(17_000);
    expect(s.confirm('c')).toBe(true);
    expect(s.confirm('d')).toBe(true);
    expect(s.confirmations).toBe(3);
    expect(s.deadline).toBe(3000);
    expect(s.confirm('e')).toBe(false);
    expect(s.confirmations).toBe(3);
  });
});
