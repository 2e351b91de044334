/**
 * The simulator command line, as a function: parses `<scenario> [--nodes N] [--seed S]
 * [--runs K | --seeds K] [--json]`, runs the scenario, prints a readable summary (with `--json`, the
 * last line is one JSON object) and returns the exit code: 0 when the checks hold, 1 when
 * they do not, 2 on bad usage. `sim/cli.ts` is the entry point that calls it.
 */
import { parseArgs } from 'node:util';
import { describeFailure, runScenario, type Scenario, type ScenarioReport } from './scenario.js';

/** Most seeds one `--runs` invocation explores. */
export const RUNS_MAX = 10_000;

/** Where the CLI writes, and which scenarios it knows (injectable for tests). */
export interface CliIo {
  readonly scenarios: readonly Scenario[];
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface CliArgs {
  readonly scenario: Scenario;
  readonly nodes: number;
  readonly seed: number;
  readonly runs: number;
  readonly json: boolean;
}

class UsageError extends Error {}

function usage(scenarios: readonly Scenario[]): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  const rows = scenarios.map((s) => `  ${s.name.padEnd(width)}  ${s.description} (default ${s.defaultNodes} nodes)`);
  return [
    'usage: npm run sim -- <scenario> [--nodes N] [--seed S] [--runs K | --seeds K] [--json]',
    '  --nodes N  cluster size (default: the scenario\'s)',
    '  --seed S   seed of the run (default 1); the run replays exactly from it',
    '  --runs K   run seeds S, S+1, ... S+K-1 and report the failing ones',
    '  --seeds K  the same as --runs K',
    '  --json     end with one JSON line of results',
    '',
    'scenarios:',
    ...rows,
  ].join('\n');
}

function integer(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

function parse(argv: readonly string[], scenarios: readonly Scenario[]): CliArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      seed: { type: 'string' },
      runs: { type: 'string' },
      seeds: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help === true || positionals.length !== 1) throw new UsageError(positionals.length > 1 ? 'give exactly one scenario' : '');
  const name = positionals[0]!;
  const scenario = scenarios.find((s) => s.name === name);
  if (scenario === undefined) throw new UsageError(`unknown scenario '${name}'`);
  const nodes = integer('nodes', values.nodes, scenario.defaultNodes, scenario.minNodes ?? 1);
  const seed = integer('seed', values.seed, 1, 0);
  if (values.runs !== undefined && values.seeds !== undefined) throw new UsageError('give --runs or --seeds, not both');
  const runs = values.seeds !== undefined ? integer('seeds', values.seeds, 1, 1) : integer('runs', values.runs, 1, 1);
  if (runs > RUNS_MAX) throw new UsageError(`--runs and --seeds are at most ${RUNS_MAX}`);
  return { scenario, nodes, seed, runs, json: values.json === true };
}

function formatValue(v: number | null): string {
  return v === null ? 'not reached' : String(v);
}

function summary(report: ScenarioReport): string {
  const lines = [`scenario ${report.scenario} (seed ${report.seed}, ${report.nodes} nodes): ${report.ok ? 'OK' : 'FAILED'}`];
  const entries = Object.entries(report.measurements);
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [key, value] of entries) lines.push(`  ${key.padEnd(width)}  ${formatValue(value)}`);
  lines.push(`  traffic: ${report.messagesPerMemberPerSec} msg/member/s, ${report.bytesPerMemberPerSec} B/member/s`);
  const speed = report.wallMs > 0 ? ` (${Math.round(report.virtualMs / report.wallMs)}x real time)` : '';
  lines.push(`  ${(report.virtualMs / 1000).toFixed(1)} s virtual in ${(report.wallMs / 1000).toFixed(2)} s real${speed}`);
  for (const note of report.notes ?? []) lines.push(`  ${note}`);
  if (!report.ok) lines.push(describeFailure(report));
  return lines.join('\n');
}

function jsonLine(report: ScenarioReport): string {
  return JSON.stringify({
    ok: report.ok,
    scenario: report.scenario,
    seed: report.seed,
    nodes: report.nodes,
    ...report.measurements,
    messagesPerMemberPerSec: report.messagesPerMemberPerSec,
    bytesPerMemberPerSec: report.bytesPerMemberPerSec,
    virtualMs: report.virtualMs,
    wallMs: report.wallMs,
    failures: report.failures,
    replay: report.replay,
  });
}

/** Run the CLI on `argv` (without the node and script paths); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: CliArgs;
  try {
    args = parse(argv, io.scenarios);
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    io.err([err.message, usage(io.scenarios)].filter((s) => s !== '').join('\n\n'));
    return 2;
  }
  const reports: ScenarioReport[] = [];
  for (let i = 0; i < args.runs; i++) {
    const report = await runScenario(args.scenario, { nodes: args.nodes, seed: args.seed + i });
    reports.push(report);
    io.out(summary(report));
    if (args.json && args.runs > 1) io.out(jsonLine(report));
  }
  const failed = reports.filter((r) => !r.ok);
  if (args.runs > 1) {
    io.out(`${args.runs - failed.length}/${args.runs} seeds passed${failed.length > 0 ? `; failing seeds: ${failed.map((r) => r.seed).join(', ')}` : ''}`);
    if (args.json) {
      io.out(JSON.stringify({ ok: failed.length === 0, scenario: args.scenario.name, seed: args.seed, nodes: args.nodes, runs: args.runs, failedSeeds: failed.map((r) => r.seed) }));
    }
  } else if (args.json) {
    io.out(jsonLine(reports[0]!));
  }
  return failed.length === 0 ? 0 : 1;
}
