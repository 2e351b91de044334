// Deadline failure detector: alive within the deadline, dead after it, suspicion as the
// fraction of the deadline elapsed.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DeadlineFailureDetector } from '../../src/membership/deadline-failure-detector.js';

describe('DeadlineFailureDetector', () => {
  it.each([
    [0, true, 0],
    [500, true, 0.5],
    [1_000, true, 1],
    [1_001, false, 1.001],
    [5_000, false, 5],
  ])('%s ms after a heartbeat: alive=%s, suspicion=%s', (elapsed, alive, level) => {
    const fd = new DeadlineFailureDetector(1_000);
    fd.heartbeat('n', 10_000);
    expect(fd.isAlive('n', 10_000 + elapsed)).toBe(alive);
    expect(fd.suspicionLevel('n', 10_000 + elapsed)).toBeCloseTo(level, 12);
  });

  it('treats unknown nodes as alive with no suspicion', () => {
    const fd = new DeadlineFailureDetector(1_000);
    expect(fd.isAlive('ghost', 1e9)).toBe(true);
    expect(fd.suspicionLevel('ghost', 1e9)).toBe(0);
  });

  it('restarts the deadline on each heartbeat and ignores older ones', () => {
    const fd = new DeadlineFailureDetector(1_000);
    fd.heartbeat('n', 0);
    fd.heartbeat('n', 900);
    fd.heartbeat('n', 100); // delivered late
    expect(fd.isAlive('n', 1_900)).toBe(true);
    expect(fd.isAlive('n', 1_901)).toBe(false);
  });

  it('never lowers suspicion while silent, and a query before the heartbeat is 0', () => {
    const fd = new DeadlineFailureDetector(250);
    fd.heartbeat('n', 1_000);
    expect(fd.suspicionLevel('n', 900)).toBe(0);
    let previous = 0;
    for (let t = 1_000; t < 3_000; t += 37) {
      const level = fd.suspicionLevel('n', t);
      expect(level).toBeGreaterThanOrEqual(previous);
      previous = level;
    }
  });

  it('forgets removed nodes', () => {
    const fd = new DeadlineFailureDetector(1_000);
    fd.heartbeat('n', 0);
    fd.remove('n');
    expect(fd.size).toBe(0);
    expect(fd.isAlive('n', 10_000)).toBe(true);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects deadline %s', (deadline) => {
    let thrown: unknown;
    try {
      new DeadlineFailureDetector(deadline);
    } catch (err) {
      thrown = err;
    }
    expect(isFlotillaError(thrown, 'FLO_CONFIG_INVALID')).toBe(true);
  });
});
