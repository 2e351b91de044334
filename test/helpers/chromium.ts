// Headless Chromium driven over the Chrome DevTools Protocol with nothing but `ws`: launch
// it, open a page, evaluate expressions in it. Tests skip (and say why) when no Chromium
// is installed (.ci/run installs Debian's `chromium`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';

/** The Chromium binary on the PATH, or undefined when none is installed. */
export const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((bin) => spawnSync('which', [bin]).status === 0);

/** How long Chromium may take to print its DevTools endpoint, in ms. */
const DEVTOOLS_WAIT_MS = 30_000;

/** A running headless Chromium with one DevTools connection. */
export interface Browser {
  /** Opens `url` in a new tab and returns a handle to evaluate expressions in it. */
  open(url: string): Promise<Page>;
  /** Kills the browser and, once it exited, removes its profile. Idempotent. */
  close(): Promise<void>;
}

/** One tab. */
export interface Page {
  /** The value of `expression` evaluated in the page (awaited when it is a promise), by value. */
  evaluate<T>(expression: string): Promise<T>;
}

/** Starts headless Chromium with a throwaway profile and connects to its DevTools endpoint. */
export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM === undefined) throw new Error('no chromium installed');
  const profile = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'));
  const child: ChildProcess = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group, so closing kills its renderer and helper processes too.
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()).once('error', () => resolve()));
  let closing: Promise<void> | undefined;
  // The profile is removed only once Chromium is gone: its processes write there until they exit.
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      ws?.terminate();
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    })());
  let ws: WebSocket | undefined;
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DevTools endpoint from ${CHROMIUM} within ${DEVTOOLS_WAIT_MS} ms`)), DEVTOOLS_WAIT_MS);
      let text = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const found = /DevTools listening on (ws:\S+)/.exec(text)?.[1];
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      });
      child.once('exit', (code) => reject(new Error(`${CHROMIUM} exited (${code}) before listening: ${text.slice(-2000)}`)));
    });
    ws = new WebSocket(endpoint);
    await new Promise((resolve, reject) => ws!.once('open', resolve).once('error', reject));
  } catch (err) {
    await close();
    throw err;
  }
  const socket = ws;
  let nextId = 1;
  const call = (method: string, params: object, sessionId?: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const onMessage = (data: Buffer): void => {
        const msg = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: unknown };
        if (msg.id !== id) return;
        socket.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(`${method}: ${JSON.stringify(msg.error)}`));
        else resolve(msg.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }));
    });
  return {
    close,
    async open(url: string): Promise<Page> {
      const { targetId } = (await call('Target.createTarget', { url })) as { targetId: string };
      const { sessionId } = (await call('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      return {
        async evaluate<T>(expression: string): Promise<T> {
          const r = (await call('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId)) as {
            result?: { value?: T };
            exceptionDetails?: { exception?: { description?: string }; text?: string };
          };
          if (r.exceptionDetails !== undefined) throw new Error(`page threw: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'unknown'}`);
          return r.result?.value as T;
        },
      };
    },
  };
}

/**
 * Evaluates `expression` in `page` every `intervalMs` until `check` holds on its value, and
 * returns that value; after `timeoutMs` throws with the last value (or error) seen.
 */
export async function waitForPage<T>(page: Page, expression: string, check: (value: T) => boolean, what: string, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const value = await page.evaluate<T>(expression);
      if (check(value)) return value;
      last = `the page shows ${JSON.stringify(value)}`;
    } catch (err) {
      // Before the page has loaded, the expression finds none of its elements.
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
