/**
 * Waiting with a bound: every phase of a node's shutdown (services draining, the
 * membership leave, closing sockets) gets a deadline, so a stuck peer or service delays
 * the exit by at most that much instead of forever.
 */
import { FlotillaError } from '../core/errors.js';

/** How a bounded wait ended. */
export type WaitOutcome = 'done' | 'failed' | 'timeout';

/**
 * Waits for `work` at most `timeoutMs`. Never rejects: a rejection is reported as
 * `failed` through `onError`. The timer does not keep the process alive.
 */
export async function waitBounded(work: Promise<unknown>, timeoutMs: number, onError?: (err: unknown) => void): Promise<WaitOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<WaitOutcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    timer.unref();
  });
  const settled = work.then(
    (): WaitOutcome => 'done',
    (err: unknown): WaitOutcome => {
      onError?.(err);
      return 'failed';
    },
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` and turns a synchronous throw into a rejected promise. */
export function attempt(fn: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Resolves or rejects as `work` does, or rejects with FLO_TIMEOUT (`what` did not
 * complete) after `timeoutMs`. The timer does not keep the process alive.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new FlotillaError('FLO_TIMEOUT', `${what} did not complete in ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
