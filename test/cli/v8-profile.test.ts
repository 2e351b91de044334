// The V8 profile of the `flotilla` process: how the entry point reads `--optimize-for`
// before the program loads, when `auto` decides the process is busy, and that V8 honours
// the flags set at run time (in a child process, as the CLI sets them).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUTO_PROFILE, BusyWindow, OPTIMIZE_FOR_DEFAULT, optimizeForOf, watchLoad } from '../../src/cli/v8-profile.js';

const CHILD = fileURLToPath(new URL('./fixtures/v8-profile-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const argv = (...args: string[]): string[] => ['node', 'main.js', ...args];

describe('optimizeForOf', () => {
  it.each([
    [argv('start'), {}, OPTIMIZE_FOR_DEFAULT],
    [argv('start', '--optimize-for', 'speed'), {}, 'speed'],
    [argv('start', '--optimize-for=memory'), {}, 'memory'],
    [argv('start'), { FLOTILLA_OPTIMIZE_FOR: 'speed' }, 'speed'],
    [argv('start', '--optimize-for', 'memory'), { FLOTILLA_OPTIMIZE_FOR: 'speed' }, 'memory'],
    [argv('start', '--optimize-for', 'speed', '--optimize-for=auto'), {}, 'auto'],
    [argv('start', '--optimize-for', 'fast'), {}, undefined],
    [argv('start', '--optimize-for'), {}, undefined],
    [argv('start'), { FLOTILLA_OPTIMIZE_FOR: '' }, undefined],
    [argv('start', '--', '--optimize-for', 'speed'), {}, OPTIMIZE_FOR_DEFAULT],
  ])('%j with %j -> %s', (args, env, expected) => expect(optimizeForOf(args, env)).toBe(expected));
});

describe('BusyWindow', () => {
  const { busyUtilizationMin: min, windowChecks: checks } = AUTO_PROFILE;
  const idle = (n: number): number[] => Array<number>(n).fill(0.003);
  // The join of a 10-node cluster on two cores, as measured on its master (lean mode).
  const join = [0.446, 0.617, 0.492, 0.2];
  it.each([
    ['idle', idle(3 * checks), false],
    ['a cluster forming, then idle', [...join, ...idle(2 * checks)], false],
    ['a cluster forming while the window fills', [...idle(checks - join.length), ...join], false],
    ['busy, but the window not yet full', Array<number>(checks - 1).fill(1), false],
    ['busy for a whole window', Array<number>(checks).fill(0.5), true],
    ['busy with dips', Array.from({ length: checks }, (_, i) => (i % 3 === 0 ? 0.01 : 0.6)), true],
    ['exactly the minimum on average', Array<number>(checks).fill(min), true],
    ['the busy checks slid out of the window', [...Array<number>(checks).fill(0.9).slice(0, 2), ...idle(checks)], false],
  ])('%s', (_, samples, expected) => {
    const window = new BusyWindow(min, checks);
    expect(samples.map((u) => window.observe(u)).at(-1)).toBe(expected);
  });
});

describe('flags set at run time', () => {
  it('memory keeps a hot function interpreted; restoring the defaults lets V8 optimize again', () => {
    const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', CHILD], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout.trim())).toEqual({ lean: false, restored: true });
  });
});

describe('watchLoad', () => {
  it('calls back once the event loop stays busy, and not while it idles', async () => {
    const config = { checkIntervalMs: 20, busyUtilizationMin: 0.5, windowChecks: 3 } as const;
    let busyAt: number | undefined;
    const watch = watchLoad((utilization) => (busyAt = utilization), config);
    try {
      // Idle for a few windows: the loop only waits on timers.
      for (let i = 0; i < 3 * config.windowChecks; i++) await new Promise((resolve) => setTimeout(resolve, config.checkIntervalMs));
      expect(busyAt).toBeUndefined();
      // Busy: each turn blocks the loop for most of a check interval, until the watch says so (with a deadline).
      const deadline = Date.now() + 10_000;
      while (busyAt === undefined && Date.now() < deadline) {
        const until = performance.now() + config.checkIntervalMs;
        while (performance.now() < until);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(busyAt).toBeGreaterThanOrEqual(config.busyUtilizationMin);
    } finally {
      watch.stop();
    }
  });
});

