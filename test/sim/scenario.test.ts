import { describe, expect, it } from 'vitest';
import { assertScenarioOk, Checks, replayCommand, runScenario, ScenarioFailure, trafficRates, type Scenario } from '../../sim/scenario.js';
import type { NetworkStats } from '../../sim/network.js';

const result = { measurements: { x: 1 }, messagesPerMemberPerSec: 1, bytesPerMemberPerSec: 2, virtualMs: 10 };

const failing: Scenario = {
  name: 'fake',
  description: 'always fails one check',
  defaultNodes: 3,
  run: () => {
    const checks = new Checks();
    checks.check(true, 'fine');
    checks.check(false, 'the thing did not happen');
    return { ...result, ok: checks.ok, failures: checks.failures };
  },
};

const throwing: Scenario = {
  name: 'boom',
  description: 'throws',
  defaultNodes: 2,
  run: async () => {
    await Promise.resolve();
    throw new Error('kaboom');
  },
};

describe('scenario runner', () => {
  it('reports failed checks with the seed and the exact replay command', async () => {
    const report = await runScenario(failing, { nodes: 3, seed: 5 });
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual(['the thing did not happen']);
    expect(report.replay).toBe('npm run sim -- fake --seed 5 --nodes 3');
    expect(() => assertScenarioOk(report)).toThrow(ScenarioFailure);
    expect(() => assertScenarioOk(report)).toThrow(/seed 5.*\n.*the thing did not happen\nreplay: npm run sim -- fake --seed 5 --nodes 3/);
  });

  it('turns an exception into a failed report that keeps the stack', async () => {
    const report = await runScenario(throwing, { nodes: 2, seed: 9 });
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual(['threw: kaboom']);
    expect(report.error).toMatch(/kaboom/);
    expect(replayCommand('boom', 9, 2)).toBe(report.replay);
  });

  it('passes an ok report through', async () => {
    const ok: Scenario = { ...failing, run: () => ({ ...result, ok: true, failures: [] }) };
    const report = await runScenario(ok, { nodes: 1, seed: 1 });
    expect(() => assertScenarioOk(report)).not.toThrow();
    expect(report.measurements).toEqual({ x: 1 });
  });

  it('computes per-member traffic rates', () => {
    const stats = { sentMessages: 1_000, sentBytes: 50_000 } as NetworkStats;
    expect(trafficRates(stats, 10, 20_000)).toEqual({ messagesPerMemberPerSec: 5, bytesPerMemberPerSec: 250 });
  });
});
