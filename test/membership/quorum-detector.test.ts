// Quorum detector: the quorum rule (strict majority, exact-half tie-breaker), and the
// unknown -> healthy -> suspect -> partitioned -> healthy lifecycle under virtual time.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { hasQuorum, QuorumDetector, type QuorumDetectorConfig, type QuorumKind } from '../../src/membership/quorum-detector.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'not a FlotillaError';
  }
  return undefined;
}

describe('hasQuorum', () => {
  it.each([
    // live, expected, ratio, tie-breaker, quorum
    [3, 5, 0.5, false, true],
    [2, 5, 0.5, false, false],
    [2, 4, 0.5, false, false], // exactly half is a minority...
    [2, 4, 0.5, true, true], // ...unless this side holds the tie-breaker
    [3, 4, 0.5, false, true],
    [1, 1, 0.5, false, true],
    [0, 1, 0.5, true, false],
    [1, 2, 0.5, false, false],
    [1, 2, 0.5, true, true],
    [7, 10, 0.7, false, false], // 10 * 0.7 is 7.000000000000001 in floating point
    [7, 10, 0.7, true, true],
    [8, 10, 0.7, false, true],
    [3, 10, 0.3, true, true], // 10 * 0.3 is 3.0000000000000004
    [1, 9, 0, false, true],
    [0, 9, 0, false, false],
    [12, 5, 0.5, false, true], // more live than expected
  ])('%s live of %s at ratio %s (tie-breaker %s): %s', (live, expected, ratio, tie, quorum) => {
    expect(hasQuorum(live, expected, ratio, tie)).toBe(quorum);
  });
});

type Step =
  | { at: number; update: number; tie?: boolean }
  | { at: number; resize: number }
  | { at: number; expect: QuorumKind; since?: number; readOnly?: boolean };

interface Scenario {
  name: string;
  config?: Partial<QuorumDetectorConfig>;
  expectedSize: number;
  steps: Step[];
}

const scenarios: Scenario[] = [
  {
    name: 'unknown before the first update',
    expectedSize: 3,
    steps: [{ at: 1_000, expect: 'unknown' }],
  },
  {
    name: 'healthy majority stays healthy',
    expectedSize: 5,
    steps: [
      { at: 0, update: 5 },
      { at: 0, expect: 'healthy', since: 0, readOnly: false },
      { at: 100, update: 3 },
      { at: 1e6, expect: 'healthy', since: 0 },
    ],
  },
  {
    name: 'minority: suspect through the grace period, then partitioned, then healed',
    expectedSize: 5,
    config: { gracePeriodMs: 1_000 },
    steps: [
      { at: 0, update: 5 },
      { at: 500, update: 2 },
      { at: 500, expect: 'suspect', since: 500, readOnly: false },
      { at: 1_500, expect: 'suspect', since: 500, readOnly: false }, // exactly the grace period
      { at: 1_501, expect: 'partitioned', since: 1_500, readOnly: true },
      { at: 2_000, update: 1 }, // still below: the clock keeps running from 500
      { at: 2_000, expect: 'partitioned', since: 1_500 },
      { at: 3_000, update: 3 },
      { at: 3_000, expect: 'healthy', since: 3_000, readOnly: false },
    ],
  },
  {
    name: 'a dip shorter than the grace period never partitions',
    expectedSize: 3,
    config: { gracePeriodMs: 30_000 },
    steps: [
      { at: 0, update: 1 },
      { at: 10_000, expect: 'suspect', since: 0 },
      { at: 20_000, update: 2 },
      { at: 40_000, expect: 'healthy', since: 20_000 },
      { at: 50_000, update: 1 },
      { at: 79_999, expect: 'suspect', since: 50_000 },
      { at: 80_001, expect: 'partitioned', since: 80_000 },
    ],
  },
  {
    name: 'exactly half: minority without the tie-breaker, healthy with it',
    expectedSize: 4,
    config: { gracePeriodMs: 100 },
    steps: [
      { at: 0, update: 2 },
      { at: 200, expect: 'partitioned', since: 100 },
      { at: 300, update: 2, tie: true },
      { at: 300, expect: 'healthy', since: 300 },
      { at: 400, update: 2 }, // the tie-breaker moved to the other side
      { at: 400, expect: 'suspect', since: 400 },
    ],
  },
  {
    name: 'growing the expected size can cost quorum; shrinking it restores it',
    expectedSize: 3,
    config: { gracePeriodMs: 100 },
    steps: [
      { at: 0, update: 2 },
      { at: 50, expect: 'healthy', since: 0 },
      { at: 60, resize: 5 },
      { at: 60, expect: 'suspect', since: 60 },
      { at: 161, expect: 'partitioned', since: 160 },
      { at: 200, resize: 3 },
      { at: 200, expect: 'healthy', since: 200 },
    ],
  },
  {
    name: 'zero grace period partitions right after quorum is lost',
    expectedSize: 3,
    config: { gracePeriodMs: 0 },
    steps: [
      { at: 10, update: 1 },
      { at: 10, expect: 'suspect', since: 10 },
      { at: 11, expect: 'partitioned', since: 10 },
    ],
  },
  {
    name: 'an update stamped earlier than the last one counts from the last one',
    expectedSize: 3,
    config: { gracePeriodMs: 100 },
    steps: [
      { at: 1_000, update: 3 },
      { at: 900, update: 1 },
      { at: 1_050, expect: 'suspect', since: 1_000 },
    ],
  },
];

describe('QuorumDetector', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const qd = new QuorumDetector({ expectedSize: scenario.expectedSize, ...scenario.config });
    for (const step of scenario.steps) {
      if ('update' in step) {
        qd.update(step.update, step.at, { holdsTieBreaker: step.tie ?? false });
      } else if ('resize' in step) {
        qd.setExpectedSize(step.resize, step.at);
      } else {
        const state = qd.state(step.at);
        const label = `at ${step.at}`;
        expect(state.kind, label).toBe(step.expect);
        expect(state.minority, label).toBe(step.expect === 'suspect' || step.expect === 'partitioned');
        if (step.since !== undefined) expect(state.since, label).toBe(step.since);
        if (step.readOnly !== undefined) expect(qd.isReadOnly(step.at), label).toBe(step.readOnly);
      }
    }
  });

  it('reports when a suspect detector will turn partitioned', () => {
    const qd = new QuorumDetector({ expectedSize: 3, gracePeriodMs: 500 });
    qd.update(3, 0);
    expect(qd.partitionedAfter()).toBeUndefined();
    qd.update(1, 100);
    expect(qd.partitionedAfter()).toBe(600);
    expect(qd.isReadOnly(600)).toBe(false);
    expect(qd.isReadOnly(600.001)).toBe(true);
  });

  it('uses the documented defaults', () => {
    const qd = new QuorumDetector({ expectedSize: 3 });
    expect(qd.thresholdRatio).toBe(0.5);
    expect(qd.gracePeriodMs).toBe(30_000);
    expect(qd.expectedSize).toBe(3);
    expect(qd.state(0)).toEqual({ kind: 'unknown', minority: false, since: undefined });
    expect(qd.isReadOnly(0)).toBe(false);
  });

  it.each([
    [{ expectedSize: 0 }],
    [{ expectedSize: 2.5 }],
    [{ expectedSize: 3, thresholdRatio: 1 }],
    [{ expectedSize: 3, thresholdRatio: -0.1 }],
    [{ expectedSize: 3, gracePeriodMs: -1 }],
    [{ expectedSize: 3, gracePeriodMs: Number.NaN }],
  ])('rejects config %j', (config) => {
    expect(codeOf(() => new QuorumDetector(config))).toBe('FLO_CONFIG_INVALID');
  });

  it('rejects bad updates', () => {
    const qd = new QuorumDetector({ expectedSize: 3 });
    expect(codeOf(() => qd.update(-1, 0))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => qd.update(1.5, 0))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => qd.update(1, Number.NaN))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => qd.setExpectedSize(0, 0))).toBe('FLO_CONFIG_INVALID');
  });
});
