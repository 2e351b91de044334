/**
 * How the `flotilla` process tunes V8. A node spends most of its life idle (probes,
 * gossip, heartbeats), and V8's optimizing compilers cost memory they never give back:
 * once TurboFan compiles any function, its code pages in the `node` executable stay
 * resident (about 5 MiB of RSS), and optimized code, feedback and a young generation grown
 * for throughput add several MiB more. Under load the same compilers make the node's work
 * 2.4 to 2.7 times cheaper (docs/benchmarks.md, node-optimize-for). Hence three profiles:
 * `memory` (never optimize), `speed` (V8's defaults) and `auto` (start as `memory`, turn
 * the compilers on for good once the process stays busy).
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

/** The choices of `--optimize-for`. */
export const OPTIMIZE_FOR_CHOICES = ['auto', 'memory', 'speed'] as const;

/** What `flotilla start` optimizes V8 for. */
export type OptimizeFor = (typeof OPTIMIZE_FOR_CHOICES)[number];

/**
 * Default of `--optimize-for`: V8's own. A lean start saves about 7.6 MiB of an idle node
 * but makes the first minute of load cost 2.4 to 2.7 times the CPU (until `auto` switches),
 * a surprise under a sudden load or a benchmark; memory-bound deployments choose `auto`.
 */
export const OPTIMIZE_FOR_DEFAULT: OptimizeFor = 'speed';

/** Environment variable of `--optimize-for`. */
export const OPTIMIZE_FOR_ENV = 'FLOTILLA_OPTIMIZE_FOR';

/**
 * What V8's `--lite-mode` implies, set one by one: each is read when V8 decides (to tier a
 * function up, to grow the heap), so setting it at run time acts like the command-line
 * flag, and each can be set back, which `--lite-mode` itself cannot.
 */
export const LEAN_V8_FLAGS: readonly string[] = ['--no-opt', '--no-sparkplug', '--optimize-for-size'];

/** V8's defaults for the flags `LEAN_V8_FLAGS` changed. */
export const DEFAULT_V8_FLAGS: readonly string[] = ['--opt', '--sparkplug', '--no-optimize-for-size'];

/**
 * When `auto` turns the compilers on: once the event loop was busy `busyUtilizationMin` of
 * the time on average over the last `windowChecks` checks, one every `checkIntervalMs`
 * (a quarter of the time over a minute). Measured on a 10-node cluster forming on two
 * cores, the join and its migrations kept the loop 20-60% busy for about 20 s in lean
 * mode, under half the window's average; a node serving traffic stays busy. The checks
 * themselves cost one timer wake-up every 5 s.
 */
export const AUTO_PROFILE: AutoProfile = {
  checkIntervalMs: 5_000,
  busyUtilizationMin: 0.25,
  windowChecks: 12,
};

/** When `auto` turns the compilers on (see `AUTO_PROFILE`). */
export interface AutoProfile {
  /** Time between two looks at the event loop, ms. */
  readonly checkIntervalMs: number;
  /** Mean event-loop utilization (0 to 1) over the window that counts as busy. */
  readonly busyUtilizationMin: number;
  /** Checks the mean is taken over. */
  readonly windowChecks: number;
}

const OPTION = '--optimize-for';

/**
 * The choice a command line makes, read before the program (and commander) loads: the
 * last `--optimize-for <value>` or `--optimize-for=<value>`, else the environment
 * variable, else the default. Undefined for a value that is not a choice: the program
 * then rejects it as a usage error, and nothing should be applied first.
 */
export function optimizeForOf(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): OptimizeFor | undefined {
  let value: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === OPTION) value = argv[++i] ?? '';
    else if (arg.startsWith(`${OPTION}=`)) value = arg.slice(OPTION.length + 1);
  }
  value ??= env[OPTIMIZE_FOR_ENV] ?? OPTIMIZE_FOR_DEFAULT;
  return (OPTIMIZE_FOR_CHOICES as readonly string[]).includes(value) ? (value as OptimizeFor) : undefined;
}

/**
 * Applies the profile `choice` starts with (`auto` starts lean). Call it first thing in the
 * process: a function optimized before stays so, and compiler pages touched before stay
 * resident. `speed` changes nothing, so flags given to `node` itself still hold.
 */
export function applyOptimizeFor(choice: OptimizeFor): void {
  if (choice !== 'speed') setV8Flags(LEAN_V8_FLAGS);
}

/** Turns V8's optimizing compilers back on, as `auto` does once the process is busy. */
export function restoreV8Defaults(): void {
  setV8Flags(DEFAULT_V8_FLAGS);
}

function setV8Flags(flags: readonly string[]): void {
  for (const flag of flags) setFlagsFromString(flag);
}

/** The mean event-loop utilization of the last checks: the decision of `auto`, apart from its timer. */
export class BusyWindow {
  private readonly samples: number[] = [];

  constructor(
    private readonly utilizationMin: number,
    private readonly checks: number,
  ) {}

  /** Feeds one check's utilization (0 to 1); true once the window is full and its mean reaches the minimum. */
  observe(utilization: number): boolean {
    this.samples.push(utilization);
    if (this.samples.length > this.checks) this.samples.shift();
    if (this.samples.length < this.checks) return false;
    return this.samples.reduce((sum, u) => sum + u, 0) / this.checks >= this.utilizationMin;
  }
}

/** A running `auto` watch. */
export interface LoadWatch {
  /** Ends the watch (the compilers stay as they are). */
  stop(): void;
}

/**
 * `auto` after the start: checks the event loop's utilization every `checkIntervalMs` and,
 * once the process stayed busy (`AUTO_PROFILE`), restores V8's defaults, calls `onBusy`
 * with the last check's utilization and stops watching. The timer does not keep the
 * process alive.
 */
export function watchLoad(onBusy: (utilization: number) => void, config: AutoProfile = AUTO_PROFILE): LoadWatch {
  const window = new BusyWindow(config.busyUtilizationMin, config.windowChecks);
  let previous = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, previous);
    previous = now;
    if (!window.observe(utilization)) return;
    clearInterval(timer);
    restoreV8Defaults();
    onBusy(utilization);
  }, config.checkIntervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
