// examples/cluster-basic as its users run it: three real processes on loopback (one
// director, two workers), then the events and the role=worker list each prints, service
// discovery through `flotilla members`, a graceful leave and a kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil, randomSecret, runCliToEnd } from '../cli/cli-process.js';

const repo = resolve(import.meta.dirname, '../..');
const SECRET = randomSecret();
const TOKEN = randomSecret();
/** Deadline of each wait: default failure detection on a loaded host, with room to spare. */
const SWIM_DEADLINE_MS = 60_000;

interface Example {
  readonly child: ChildProcess;
  readonly lines: string[];
}

const running: Example[] = [];

function start(nodeId: string, role: string, extra: Record<string, string> = {}): Example {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster-basic/main.ts'], {
    cwd: repo,
    env: { ...process.env, NODE_ID: nodeId, ROLE: role, LISTEN: '127.0.0.1:0', FLOTILLA_SECRET: SECRET, REPORT_MS: '200', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
  const example = { child, lines };
  running.push(example);
  return example;
}

async function lineMatching(example: Example, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  let found: RegExpExecArray | undefined;
  await pollUntil(() => (found = example.lines.map((l) => pattern.exec(l)).find((m) => m !== null) ?? undefined) !== undefined, what, SWIM_DEADLINE_MS, () => example.lines.slice(-20).join('\n'));
  return found!;
}

/** The newest `workers:` line the process printed. */
function lastWorkers(example: Example): string | undefined {
  return example.lines.filter((l) => l.startsWith('workers: ')).at(-1);
}

afterAll(() => {
  for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('examples/cluster-basic', () => {
  it('joins, watches events, lists workers by tag, and is discoverable with flotilla members', async () => {
    const director = start('director', 'director', { ADMIN: '0', FLOTILLA_ADMIN_TOKEN: TOKEN });
    const up = await lineMatching(director, /^director up at (\S+), master director$/, 'director up');
    const seed = up[1]!;
    const adminPort = (await lineMatching(director, /^admin API on port (\d+)$/, 'admin API'))[1]!;
    expect(lastWorkers(director) ?? 'workers: (none)').toBe('workers: (none)');

    const w1 = start('w1', 'worker', { SEEDS: seed });
    const w2 = start('w2', 'worker', { SEEDS: seed });
    const w1Address = (await lineMatching(w1, /^w1 up at (\S+), master director$/, 'w1 up'))[1]!;
    const w2Address = (await lineMatching(w2, /^w2 up at (\S+), master director$/, 'w2 up'))[1]!;
    await lineMatching(director, /^event NodeJoined w1 \{"role":"worker"\}$/, 'director sees w1 join');
    await lineMatching(director, /^event NodeJoined w2 \{"role":"worker"\}$/, 'director sees w2 join');
    const both = `workers: w1@${w1Address} w2@${w2Address}`;
    await pollUntil(() => lastWorkers(director) === both, 'director lists both workers', SWIM_DEADLINE_MS, () => String(lastWorkers(director)));

    const url = `http://127.0.0.1:${adminPort}`;
    const found = await runCliToEnd(['members', '--url', url, '--tag', 'role=worker', '--state', 'alive', '--addresses'], { FLOTILLA_ADMIN_TOKEN: TOKEN });
    expect(found.code).toBe(0);
    expect([...found.stdout].sort()).toEqual([w1Address, w2Address].sort());
    const directors = await runCliToEnd(['members', '--url', url, '--tag', 'role=director', '--json'], { FLOTILLA_ADMIN_TOKEN: TOKEN });
    expect((JSON.parse(directors.stdout.join('\n')) as { nodeId: string }[]).map((m) => m.nodeId)).toEqual(['director']);

    // A graceful leave is "left"; a kill -9 is "failed" once the others' probes give up.
    w2.child.kill('SIGTERM');
    await lineMatching(w2, /^w2 left$/, 'w2 leaves');
    await lineMatching(director, /^event NodeLeft w2 /, 'director sees w2 leave');
    w1.child.kill('SIGKILL');
    await lineMatching(director, /^event NodeFailed w1 /, 'director sees w1 fail');
    await pollUntil(() => lastWorkers(director) === 'workers: (none)', 'no worker left', SWIM_DEADLINE_MS, () => String(lastWorkers(director)));
    const none = await runCliToEnd(['members', '--url', url, '--tag', 'role=worker', '--state', 'alive', '--addresses'], { FLOTILLA_ADMIN_TOKEN: TOKEN });
    expect(none).toMatchObject({ code: 0, stdout: [] });
  }, 180_000);
});
