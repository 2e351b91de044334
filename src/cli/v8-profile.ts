/**
 * How `flotilla start` tunes V8 for its own process. A node spends most of its life idle
 * (probes, gossip, heartbeats), and V8's optimizing compiler costs memory it never gives
 * back: once TurboFan compiles any function, its code pages in the `node` executable
 * stay resident (about 5 MiB of RSS), and optimized code plus the young generation grown
 * for throughput add several MiB more. `memory` turns those off; `speed` keeps V8's
 * defaults for nodes that serve heavy traffic.
 */
import { setFlagsFromString } from 'node:v8';

/** The choices of `--optimize-for`. */
export const OPTIMIZE_FOR_CHOICES = ['memory', 'speed'] as const;

/** What `flotilla start` optimizes V8 for. */
export type OptimizeFor = (typeof OPTIMIZE_FOR_CHOICES)[number];

/**
 * Default of `--optimize-for`: an idle node measured 10 MiB lighter this way (see the
 * node-idle section of docs/benchmarks.md), and a node's CPU at idle did not change.
 */
export const OPTIMIZE_FOR_DEFAULT: OptimizeFor = 'memory';

/**
 * V8 flags of each choice. `memory` is what V8's `--lite-mode` implies, set one by one
 * because each of these is read when V8 decides (to tier a function up, to size the heap),
 * so setting it at run time acts like the command-line flag; `--lite-mode` itself also
 * switches paths V8 only chooses at start. Interpreted code runs slower than optimized
 * code: the cost shows under load, not at idle (measured in docs/benchmarks.md).
 */
export const V8_FLAGS: Readonly<Record<OptimizeFor, readonly string[]>> = {
  memory: ['--no-opt', '--no-sparkplug', '--optimize-for-size'],
  speed: [],
};

/**
 * Applies `choice` to this process's V8. Call it once, first thing in the process:
 * functions already optimized stay so, and compiler pages already touched stay resident.
 */
export function applyOptimizeFor(choice: OptimizeFor): void {
  for (const flag of V8_FLAGS[choice]) setFlagsFromString(flag);
}

/** Environment variable of `--optimize-for`. */
export const OPTIMIZE_FOR_ENV = 'FLOTILLA_OPTIMIZE_FOR';

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
    if (arg === OPTION) value = argv[++i];
    else if (arg.startsWith(`${OPTION}=`)) value = arg.slice(OPTION.length + 1);
  }
  value ??= env[OPTIMIZE_FOR_ENV] ?? OPTIMIZE_FOR_DEFAULT;
  return (OPTIMIZE_FOR_CHOICES as readonly string[]).includes(value) ? (value as OptimizeFor) : undefined;
}
