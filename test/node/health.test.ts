// Health checks: each check's verdict (a throw or a bad answer is unhealthy), the worst
// of them, and how the lifecycle shapes the overall status.
import { describe, expect, it } from 'vitest';
import { HEALTH_CHECKS_MAX, HEALTH_DETAIL_CHARS_MAX, HealthChecks, overallStatus, worstOf, type CheckStatus } from '../../src/node/health.js';

describe('HealthChecks', () => {
  it('evaluates every check, accepting a status or a status with detail', () => {
    const checks = new HealthChecks();
    checks.register('a', () => 'healthy');
    checks.register('b', () => ({ status: 'degraded', detail: 'slow disk' }));
    checks.register('c', () => {
      throw new Error('no database');
    });
    checks.register('d', () => 'fine' as CheckStatus);
    expect(checks.evaluate()).toEqual({
      a: { status: 'healthy' },
      b: { status: 'degraded', detail: 'slow disk' },
      c: { status: 'unhealthy', detail: 'check threw: no database' },
      d: { status: 'unhealthy', detail: 'check returned neither a status nor {status, detail}' },
    });
  });

  it('replaces a check of the same name and removes it with the returned function', () => {
    const checks = new HealthChecks();
    const removeFirst = checks.register('x', () => 'degraded');
    const removeSecond = checks.register('x', () => 'healthy');
    removeFirst();
    expect(checks.evaluate()).toEqual({ x: { status: 'healthy' } });
    removeSecond();
    expect(checks.evaluate()).toEqual({});
  });

  it('bounds the number of checks and the length of details', () => {
    const checks = new HealthChecks();
    for (let i = 0; i < HEALTH_CHECKS_MAX; i++) checks.register(`c${i}`, () => ({ status: 'healthy', detail: 'x'.repeat(1_000) }));
    expect(() => checks.register('one-more', () => 'healthy')).toThrow(/at most/);
    expect(checks.evaluate().c0!.detail).toHaveLength(HEALTH_DETAIL_CHARS_MAX);
  });

  it('refuses a bad name or a non-function', () => {
    const checks = new HealthChecks();
    expect(() => checks.register('', () => 'healthy')).toThrow(/name/);
    expect(() => checks.register('x', 'healthy' as never)).toThrow(/function/);
  });
});

describe('overall status', () => {
  it.each<[CheckStatus[], CheckStatus]>([
    [[], 'healthy'],
    [['healthy', 'healthy'], 'healthy'],
    [['healthy', 'degraded'], 'degraded'],
    [['unhealthy', 'degraded', 'healthy'], 'unhealthy'],
  ])('the worst of %j is %s', (statuses, worst) => {
    expect(worstOf(Object.fromEntries(statuses.map((status, i) => [`c${i}`, { status }])))).toBe(worst);
  });

  it.each([
    ['running', 'healthy', 'ok'],
    ['running', 'degraded', 'degraded'],
    ['running', 'unhealthy', 'unhealthy'],
    ['joining', 'healthy', 'joining'],
    ['leaving', 'unhealthy', 'leaving'],
    ['stopped', 'healthy', 'stopped'],
  ] as const)('a %s node whose worst check is %s is %s', (lifecycle, worst, status) => {
    expect(overallStatus(lifecycle, worst)).toBe(status);
  });
});
