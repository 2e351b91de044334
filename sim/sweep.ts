/**
 * `npm run sim:sweep -- [--seeds K] [--scenarios a,b] [--jobs J]`: runs the sharding
 * scenarios the sharding layer promises to hold (by default the six of the layer's
 * contract and frozen-master-rebalancing, seeds 1..200 each) in parallel child
 * processes, one CLI run per chunk of seeds, and exits 1 when any seed fails, listing each failing seed's replay command.
 * `npm test` runs a few seeds of each; this is the long sweep CI runs after it.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const DEFAULT_SCENARIOS = ['join-under-writes', 'leave-under-writes', 'kill-owner-mid-migration', 'master-crash-mid-wave', 'split-3-2-writes-both-sides', 'flapping-member', 'frozen-master-rebalancing'];
const DEFAULT_SEEDS = 200;
/** Seeds per child process: small enough to spread over the cores, large enough to amortise start-up. */
const CHUNK_SEEDS = 25;

interface Chunk {
  readonly scenario: string;
  readonly first: number;
  readonly count: number;
}

interface ChunkResult {
  readonly chunk: Chunk;
  readonly failedSeeds: readonly number[];
  /** Set when the child did not report a verdict (it crashed or printed no summary). */
  readonly error?: string;
}

function runChunk(chunk: Chunk): Promise<ChunkResult> {
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', 'sim/cli.ts', chunk.scenario, '--seed', String(chunk.first), '--seeds', String(chunk.count), '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      const verdict = out
        .trim()
        .split('\n')
        .reverse()
        .map((line) => {
          try {
            return JSON.parse(line) as { runs?: number; failedSeeds?: number[] };
          } catch {
            return undefined;
          }
        })
        .find((v) => v?.runs !== undefined);
      if (verdict?.failedSeeds === undefined) resolve({ chunk, failedSeeds: [], error: `exit ${code}: ${err.trim().slice(-400) || out.trim().slice(-400)}` });
      else resolve({ chunk, failedSeeds: verdict.failedSeeds });
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seeds: { type: 'string' }, scenarios: { type: 'string' }, jobs: { type: 'string' } } });
  const seeds = Number(values.seeds ?? DEFAULT_SEEDS);
  const jobs = Number(values.jobs ?? availableParallelism());
  const scenarios = values.scenarios?.split(',') ?? DEFAULT_SCENARIOS;
  if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(jobs) || jobs < 1) {
    console.error('usage: npm run sim:sweep -- [--seeds K] [--scenarios a,b] [--jobs J]');
    return 2;
  }
  const queue: Chunk[] = [];
  for (const scenario of scenarios) {
    for (let first = 1; first <= seeds; first += CHUNK_SEEDS) queue.push({ scenario, first, count: Math.min(CHUNK_SEEDS, seeds - first + 1) });
  }
  const started = Date.now();
  console.log(`sweeping ${scenarios.length} scenarios x ${seeds} seeds in ${queue.length} chunks, ${jobs} at a time`);
  const results: ChunkResult[] = [];
  const worker = async (): Promise<void> => {
    for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
      const result = await runChunk(chunk);
      results.push(result);
      const what = result.error ?? (result.failedSeeds.length === 0 ? 'ok' : `failing seeds ${result.failedSeeds.join(', ')}`);
      console.log(`${chunk.scenario} seeds ${chunk.first}-${chunk.first + chunk.count - 1}: ${what}`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  let bad = false;
  for (const scenario of scenarios) {
    const mine = results.filter((r) => r.chunk.scenario === scenario);
    const failed = mine.flatMap((r) => r.failedSeeds).sort((a, b) => a - b);
    const errors = mine.filter((r) => r.error !== undefined);
    const ran = mine.filter((r) => r.error === undefined).reduce((n, r) => n + r.chunk.count, 0);
    console.log(`${scenario}: ${ran - failed.length}/${seeds} seeds passed${errors.length > 0 ? `, ${errors.length} chunks did not report` : ''}`);
    for (const seed of failed) console.log(`  replay: npm run sim -- ${scenario} --seed ${seed}`);
    if (failed.length > 0 || errors.length > 0 || ran !== seeds) bad = true;
  }
  console.log(`sweep ${bad ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bad ? 1 : 0;
}

process.exitCode = await main();
