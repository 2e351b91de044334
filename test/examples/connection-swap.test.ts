// examples/connection-swap over real processes: a director and three workers on loopback.
// A client session runs through the director; the worker serving it is killed (kill -9)
// mid-session and the session carries on on another worker with its total intact; a
// worker whose backend fails flips available=false and gets no more work, then comes back.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAST_SWIM, pollUntil, randomSecret } from '../cli/cli-process.js';

const repo = resolve(import.meta.dirname, '../..');
const SECRET = randomSecret();
/** Deadline of each wait on a condition, ms (a loaded host is slow; none of these is a measurement). */
const WAIT_MS = 60_000;

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
}

interface StepAnswer {
  readonly seq: number;
  readonly total: number;
  readonly worker: string;
  readonly attempts: number;
}

const procs: Proc[] = [];

function start(script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/connection-swap/src/${script}.ts`], {
    cwd: repo,
    env: { ...process.env, FLOTILLA_SECRET: SECRET, SWIM: FAST_SWIM, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  procs.push({ child, lines });
  return procs.at(-1)!;
}

async function banner(proc: Proc, pattern: RegExp): Promise<RegExpExecArray> {
  let m: RegExpExecArray | undefined;
  await pollUntil(() => (m = proc.lines.map((l) => pattern.exec(l)).find((x) => x !== null) ?? undefined) !== undefined, String(pattern), WAIT_MS, () => proc.lines.join('\n'));
  return m!;
}

async function post(url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', body: body === undefined ? '' : JSON.stringify(body), signal: AbortSignal.timeout(WAIT_MS) });
  return { status: res.status, json: await res.json() };
}

afterAll(() => {
  for (const { child } of procs) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('examples/connection-swap', () => {
  it('keeps a client session across a worker swap, and honours available=false', async () => {
    const director = start('director', { NODE_ID: 'director' });
    const [, seed, directorHttp] = await banner(director, /^director director at (\S+), http (\S+)$/);
    const workers = new Map<string, { proc: Proc; http: string }>();
    for (const id of ['w1', 'w2', 'w3']) {
      const proc = start('worker', { NODE_ID: id, SEEDS: seed! });
      workers.set(id, { proc, http: (await banner(proc, new RegExp(`^worker ${id} at \\S+, http (\\S+)$`)))[1]! });
    }
    const listed = async (): Promise<string[]> => Object.keys((await (await fetch(`http://${directorHttp}/workers`)).json()) as object).sort();
    await pollUntil(async () => (await listed()).join() === 'w1,w2,w3', 'the director sees three available workers', WAIT_MS);

    let total = 0;
    const served: StepAnswer[] = [];
    const step = async (seq: number): Promise<StepAnswer> => {
      total += seq;
      const { status, json } = await post(`http://${directorHttp}/session/sess-1/step`, { seq, add: seq });
      expect(status, JSON.stringify(json)).toBe(200);
      const answer = json as StepAnswer;
      expect(answer).toMatchObject({ seq, total });
      served.push(answer);
      return answer;
    };
    for (let seq = 1; seq <= 4; seq++) await step(seq);
    const first = served[0]!.worker;
    expect(new Set(served.map((s) => s.worker))).toEqual(new Set([first])); // sticky

    // Kill the session's worker without warning: the next step swaps to another one.
    const victim = workers.get(first)!.proc.child;
    const gone = new Promise((done) => victim.once('exit', done));
    victim.kill('SIGKILL');
    await gone;
    const swapped = await step(5);
    expect(swapped.worker).not.toBe(first);
    // Usually the director still lists the dead worker and swaps on a retry; once its
    // failure is gossiped, the first attempt goes elsewhere: both are a kept session.
    expect(swapped.attempts).toBeGreaterThanOrEqual(1);
    expect(swapped.attempts).toBeLessThanOrEqual(4);
    for (let seq = 6; seq <= 8; seq++) expect((await step(seq)).worker).toBe(swapped.worker);

    // The new worker's backend fails: it flips available=false, the director moves the session.
    const second = swapped.worker;
    expect((await post(`http://${workers.get(second)!.http}/fail`)).json).toEqual({ available: false });
    await pollUntil(async () => !(await listed()).includes(second), `the director drops ${second}`, WAIT_MS);
    const third = await step(9);
    expect([first, second]).not.toContain(third.worker);
    // Recovery flips it back, and the director lists it again.
    await post(`http://${workers.get(second)!.http}/recover`);
    await pollUntil(async () => (await listed()).includes(second), `the director lists ${second} again`, WAIT_MS);
    expect((await step(10)).total).toBe(55);
    // A resent step (the client retrying after a lost answer) is not applied twice.
    const { json } = await post(`http://${directorHttp}/session/sess-1/step`, { seq: 10, add: 10 });
    expect(json).toMatchObject({ seq: 10, total: 55, replayed: true });
  }, 240_000);
});
