/**
 * The one clock and timer source of asynchronous services. The host (the node driver
 * with its single OS timer, or the simulator with virtual time) implements it, so
 * services never call `setTimeout` and their waits run on the host's time.
 */
import type { Millis } from './clock.js';
import { FlotillaError } from './errors.js';

/** A timer that can be called off. */
export interface TimerHandle {
  cancel(): void;
}

/** Time and timers, as the host gives them. */
export interface Timers {
  /** The host's current time. */
  now(): Millis;
  /**
   * Runs `fn` once, at or soon after `at`. When the host stops, pending timers run at once
   * (so loops waiting on them can see the stop and end).
   */
  at(at: Millis, fn: () => void): TimerHandle;
  /** Runs `fn` soon, after the work in hand: a batching point (group commit). */
  defer(fn: () => void): void;
}

/** Resolves after `ms` of the host's time (or when the host stops). */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => {
    timers.at(timers.now() + Math.max(0, ms), resolve);
  });
}

/**
 * Resolves or rejects as `work` does, or rejects with FLO_TIMEOUT (`what` did not
 * complete) once the host's time reaches `deadline`. The timer is cancelled when the work
 * settles, so settled calls hold nothing.
 */
export function withDeadline<T>(work: Promise<T>, deadline: Millis, timers: Timers, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = timers.now();
    const timer = timers.at(deadline, () => reject(new FlotillaError('FLO_TIMEOUT', `${what} did not complete in ${Math.max(0, deadline - started)} ms`)));
    work.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
