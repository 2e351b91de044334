/**
 * `defineSingleton`: a function that runs on exactly one node of the cluster, the owner
 * of its partition, and moves when that ownership moves. What it sees while it runs
 * (`SingletonContext`) and the leadership record kept for it are defined here.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import type { Timers } from '../core/timers.js';

/** What a running singleton sees. */
export interface SingletonContext {
  /** The singleton's name. */
  readonly name: string;
  /** The node running it. */
  readonly nodeId: NodeId;
  /**
   * The partition epoch it runs under: a fencing token. Two leaderships of one singleton
   * never share an epoch, so a system outside Flotilla can refuse a deposed leader's
   * writes by refusing epochs below the newest it saw.
   */
  readonly epoch: number;
  /** Aborted when this node stops leading (a planned move, a newer owner, the node stopping). */
  readonly signal: AbortSignal;
  /** The host's clock and timers (virtual in the simulator): wait on these, never on the OS. */
  readonly timers: Timers;
  readonly logger: Logger;
  /**
   * The next value of the singleton's durable counter (1, 2, 3, ...). A value is returned
   * only after its fenced write committed, so no value is ever handed out twice, across
   * moves and crashes alike. Rejects with FLO_NOT_OWNER once this node is deposed.
   */
  next(): Promise<number>;
}

/** The body of a singleton: runs until it returns or `ctx.signal` aborts. */
export type SingletonRun = (ctx: SingletonContext) => Promise<void> | void;

/** Per-singleton settings. */
export interface SingletonOptions {
  /**
   * On a planned move or a stop, how long the running function may take to end after its
   * signal aborted before the node lets it go, ms. Default 5,000. The move waits this long
   * at most; a function still running afterwards may still act, but no longer writes
   * through the fence.
   */
  readonly handoverWaitMs?: number;
  /** Pause before running the function again after it threw while still leading, ms. Default 1,000. */
  readonly restartDelayMs?: number;
}

/** A defined singleton, as `startNode({ singletons })` takes it. */
export interface SingletonDefinition {
  readonly kind: 'singleton';
  readonly name: string;
  readonly run: SingletonRun;
  readonly handoverWaitMs: number;
  readonly restartDelayMs: number;
}

/** One leadership of a singleton, oldest first in its history. */
export interface LeadershipRecord {
  /** The node that led. */
  readonly runner: NodeId;
  /** The partition epoch it led under. */
  readonly epoch: number;
  /** When it took over (its host's time, ms since the Unix epoch). */
  readonly becameLeaderAt: Millis;
  /**
   * When it stopped leading; null while it leads. A leader that crashed could not record
   * it: its successor closes the record at its own takeover.
   */
  readonly lostLeadershipAt: Millis | null;
}

/** Default of `SingletonOptions.handoverWaitMs`. */
export const SINGLETON_HANDOVER_WAIT_MS_DEFAULT = 5_000;
/** Default of `SingletonOptions.restartDelayMs`. */
export const SINGLETON_RESTART_DELAY_MS_DEFAULT = 1_000;

const namePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * Define a singleton. Names are 1-128 characters (a letter, then letters, digits,
 * `_ . -`) and unique per node; every node of a cluster should register the same ones.
 */
export function defineSingleton(name: string, run: SingletonRun, options: SingletonOptions = {}): SingletonDefinition {
  if (typeof name !== 'string' || !namePattern.test(name)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `invalid singleton name '${String(name)}'`);
  if (typeof run !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `singleton '${name}' needs a function to run`);
  const handoverWaitMs = options.handoverWaitMs ?? SINGLETON_HANDOVER_WAIT_MS_DEFAULT;
  const restartDelayMs = options.restartDelayMs ?? SINGLETON_RESTART_DELAY_MS_DEFAULT;
  for (const [field, value] of [['handoverWaitMs', handoverWaitMs], ['restartDelayMs', restartDelayMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', `singleton '${name}': ${field} must be a non-negative number`, { [field]: value });
  }
  return { kind: 'singleton', name, run, handoverWaitMs, restartDelayMs };
}

/** The key whose partition hosts singleton `name` (its owner runs it). */
export function singletonKey(name: string): string {
  return `singleton/${name}`;
}
