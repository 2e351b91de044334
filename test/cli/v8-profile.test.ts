// The V8 profile of the `flotilla` process: how the entry point reads `--optimize-for`
// before the program loads, when `auto` decides the process is busy, and that V8 honours
// the flags set at run time (in a child process, as the CLI sets them).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUTO_PROFILE, BusyStreak, OPTIMIZE_FOR_DEFAULT, optimizeForOf } from '../../src/cli/v8-profile.js';

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

describe('BusyStreak', () => {
  const { busyUtilizationMin: min, busyChecksMin: checks } = AUTO_PROFILE;
  it.each([
    ['idle', [0.003, 0.004, 0.002, 0.003], false],
    ['a join: one busy check', [0.9, 0.05, 0.9, 0.01], false],
    ['busy short of the count', Array<number>(checks - 1).fill(0.5), false],
    ['busy for the count', Array<number>(checks).fill(0.5), true],
    ['a quiet check resets the streak', [...Array<number>(checks - 1).fill(0.5), 0.01, ...Array<number>(checks - 1).fill(0.5)], false],
    ['exactly at the minimum counts', Array<number>(checks).fill(min), true],
  ])('%s', (_, samples, expected) => {
    const streak = new BusyStreak(min, checks);
    expect(samples.map((u) => streak.observe(u)).at(-1)).toBe(expected);
  });
});

describe('flags set at run time', () => {
  it('memory keeps a hot function interpreted; restoring the defaults lets V8 optimize again', () => {
    const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', CHILD], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout.trim())).toEqual({ lean: false, restored: true });
  });
});
