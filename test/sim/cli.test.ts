import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../sim/cli-main.js';
import type { Scenario } from '../../sim/scenario.js';

function fake(name: string, ok: boolean): Scenario {
  return {
    name,
    description: `${name} scenario`,
    defaultNodes: 4,
    minNodes: 2,
    run: ({ seed }) => ({
      ok,
      failures: ok ? [] : ['broken'],
      measurements: { detectMs: seed * 10, neverMs: null },
      messagesPerMemberPerSec: 1.5,
      bytesPerMemberPerSec: 100,
      virtualMs: 1_000,
    }),
  };
}

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { scenarios: [fake('good', true), fake('bad', false)], out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n').split('\n'), err: err.join('\n') };
}

describe('sim CLI', () => {
  it('prints a summary and, with --json, ends with one JSON line of results', async () => {
    const { code, out } = await cli(['good', '--seed', '7', '--json']);
    expect(code).toBe(0);
    expect(out[0]).toBe('scenario good (seed 7, 4 nodes): OK');
    expect(JSON.parse(out.at(-1)!)).toMatchObject({
      ok: true,
      seed: 7,
      nodes: 4,
      detectMs: 70,
      neverMs: null,
      messagesPerMemberPerSec: 1.5,
      bytesPerMemberPerSec: 100,
    });
  });

  it('exits 1 when a check fails and prints the replay command', async () => {
    const { code, out } = await cli(['bad', '--nodes', '3', '--seed', '2']);
    expect(code).toBe(1);
    expect(out).toContain('replay: npm run sim -- bad --seed 2 --nodes 3');
  });

  it('runs several seeds with --runs and names the failing ones', async () => {
    const { code, out } = await cli(['bad', '--runs', '3', '--seed', '10', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ ok: false, runs: 3, failedSeeds: [10, 11, 12] });
  });

  it('takes --seeds K as --runs K: seeds 1..K by default', async () => {
    const { code, out } = await cli(['bad', '--seeds', '2', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ ok: false, runs: 2, failedSeeds: [1, 2] });
  });

  it.each([
    [['nope'], /unknown scenario 'nope'/],
    [[], /usage/],
    [['good', '--nodes', '1'], /--nodes must be an integer >= 2/],
    [['good', '--seed', 'x'], /--seed must be/],
    [['good', '--bogus'], /Unknown option/],
    [['good', '--runs', '2', '--seeds', '2'], /not both/],
  ])('exits 2 on bad usage %j and lists the scenarios', async (argv, message) => {
    const { code, err } = await cli(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toMatch(/good +good scenario \(default 4 nodes\)/);
  });

  it('runs from npm run sim: the real entry point and registry', () => {
    const run = (args: string[]): { status: number; stdout: string; stderr: string } => {
      try {
        return { status: 0, stdout: execFileSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { encoding: 'utf8' }), stderr: '' };
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        return { status: err.status, stdout: err.stdout, stderr: err.stderr };
      }
    };
    const ping = run(['ping', '--json']);
    expect(ping.status).toBe(0);
    expect(JSON.parse(ping.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, scenario: 'ping', seed: 1, nodes: 5 });
    const unknown = run(['no-such-scenario']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/partition-3-2/);
  });
});
