import { describe, expect, it } from 'vitest';
import { Awareness, failedProbeAwarenessDelta } from '../../src/membership/awareness.js';

describe('Awareness', () => {
  // Each row: deltas applied in order, then the expected score and scaled 1000 ms timeout.
  const cases: [string, number[], number, number][] = [
    ['starts healthy', [], 0, 1000],
    ['one failure', [1], 1, 2000],
    ['cannot go below zero', [-1, -1], 0, 1000],
    ['caps at the maximum', [5, 5], 8, 9000],
    ['recovers step by step', [3, -1], 2, 3000],
    ['cap then recover', [20, -2], 6, 7000],
  ];
  it.each(cases)('%s', (_name, deltas, score, scaled) => {
    const a = new Awareness(8);
    for (const d of deltas) a.applyDelta(d);
    expect(a.score).toBe(score);
    expect(a.scale(1000)).toBe(scaled);
  });
});

describe('failedProbeAwarenessDelta', () => {
  const cases: [number, number, number][] = [
    [0, 0, 1],
    [3, 0, 3],
    [3, 1, 0],
    [3, 2, 0],
    [1, 0, 1],
    [3, 3, 0],
    [2, 5, 0],
  ];
  it.each(cases)('expected %i nacks, got %i -> +%i', (expected, got, delta) => {
    expect(failedProbeAwarenessDelta(expected, got)).toBe(delta);
  });
});
