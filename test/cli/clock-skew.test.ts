// Real `flotilla start` processes, one of them under libfaketime (Debian's `faketime`
// package; the test skips and says why when it is missing). It is preloaded the way the
// `faketime -f` wrapper does it, but without the wrapper process, which would outlive a
// kill of itself and hold the node's output open. A node whose clock is 90 s ahead is
// refused with FLO_CLOCK_SKEW and exits non-zero saying why; one 10 s ahead joins, the
// others log a warning about it, and its offset shows in `/cluster/members` and metrics.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport } from '../../src/gateway/admin-source.js';
import { adminCall, adminUrlOf, jsonLines, metricSum, pollUntil, randomSecret, startNodeProcess, type NodeProcess } from './cli-process.js';

const SECRET = randomSecret();
const SETTLE_MS = 45_000;

/** libfaketime's multi-threaded flavour, as Debian installs it (node runs several threads). */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'].find((p) => existsSync(p));
const FAKETIME = LIBFAKETIME !== undefined;
if (!FAKETIME) console.warn('clock-skew process tests skipped: libfaketime is not installed (apt-get install faketime)');

/** The environment that runs a process with its clock `offset` off (`+90s`, `-10s`). */
function faketime(offset: string): Record<string, string> {
  return { LD_PRELOAD: LIBFAKETIME!, FAKETIME: offset };
}

const nodes: NodeProcess[] = [];

async function members(url: string): Promise<MembersReport> {
  return (await adminCall(url, 'GET', '/cluster/members')).body as MembersReport;
}

async function node(name: string, seed: string | undefined, env?: Record<string, string>): Promise<NodeProcess> {
  const address = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
  const started = startNodeProcess({ name, address, seed: seed ?? address, secret: SECRET, ...(env === undefined ? {} : { env }) });
  nodes.push(started);
  return started;
}

describe.skipIf(!FAKETIME)('clock skew between flotilla processes', () => {
  let seed: NodeProcess;
  let seedUrl = '';

  beforeAll(async () => {
    seed = await node('c1', undefined);
    await pollUntil(() => (seedUrl = adminUrlOf(seed) ?? '') !== '', 'the seed admin API', SETTLE_MS);
    await pollUntil(async () => (await members(seedUrl)).master === 'c1', 'the seed formed its cluster', SETTLE_MS);
  }, SETTLE_MS * 2);

  afterAll(async () => {
    for (const n of nodes) n.proc.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.proc.exited));
  });

  it('refuses a node whose clock is 90 s ahead: it exits non-zero with FLO_CLOCK_SKEW and why', async () => {
    const skewed = await node('c90', seed.address, faketime('+90s'));
    const code = await Promise.race([skewed.proc.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), SETTLE_MS))]);
    const output = [...skewed.proc.stdout, ...skewed.proc.stderr].join('\n');
    expect(code, output).not.toBe(0);
    expect(code, output).not.toBe('still running');
    expect(output).toContain('FLO_CLOCK_SKEW');
    expect(output).toMatch(/clock is \d+ ms ahead of the master's, beyond the 60000 ms drift bound/);
    const report = await members(seedUrl);
    expect(report.members.map((m) => m.nodeId)).not.toContain('c90');
    expect(metricSum((await adminCall(seedUrl, 'GET', '/metrics')).body as string, 'flotilla_clock_skew_refusals_total')).toBeGreaterThanOrEqual(1);
  }, SETTLE_MS * 2);

  it('admits a node 10 s ahead with a warning, its offset in /cluster/members and the metrics', async () => {
    const skewed = await node('c10', seed.address, faketime('+10s'));
    let report: MembersReport | undefined;
    const offsetShown = async (): Promise<boolean> => {
      report = await members(seedUrl);
      const m = report.members.find((x) => x.nodeId === 'c10');
      return m?.state === 'alive' && m.clockOffsetMs !== null;
    };
    await pollUntil(offsetShown, 'c10 alive with a measured offset on the seed', SETTLE_MS, () => JSON.stringify(report));
    const offset = report!.members.find((x) => x.nodeId === 'c10')!.clockOffsetMs!;
    // faketime's offset, give or take the round trip and the processes' start-up.
    expect(Math.abs(offset - 10_000), String(offset)).toBeLessThan(1_000);
    expect(report!.members.find((x) => x.nodeId === 'c1')!.clockOffsetMs).toBeNull();
    const warned = (): boolean => jsonLines(seed.proc.stdout).some((l) => l.event === 'ClockSkewDetected' && l.member === 'c10' && l.level === 40);
    await pollUntil(warned, 'a warning about c10 on the seed', SETTLE_MS);
    const line = jsonLines(seed.proc.stdout).find((l) => l.event === 'ClockSkewDetected')!;
    expect(line).toMatchObject({ code: 'FLO_CLOCK_SKEW', member: 'c10', boundMs: 60_000 });
    const metrics = (await adminCall(seedUrl, 'GET', '/metrics')).body as string;
    expect(Math.abs(metricSum(metrics, 'flotilla_member_clock_offset_ms', { member: 'c10' }) - 10_000)).toBeLessThan(1_000);
    // The skewed node sees the seed 10 s behind, and says so too.
    // It measures the seed from its own probes, which may not have completed yet.
    const url = adminUrlOf(skewed)!;
    let seen: MembersReport | undefined;
    const seedMeasured = async (): Promise<boolean> => {
      seen = await members(url);
      return (seen.members.find((x) => x.nodeId === 'c1')?.clockOffsetMs ?? null) !== null;
    };
    await pollUntil(seedMeasured, 'the seed measured on c10', SETTLE_MS, () => JSON.stringify(seen));
    const own = seen!.members.find((x) => x.nodeId === 'c1')!.clockOffsetMs!;
    expect(Math.abs(own + 10_000), String(own)).toBeLessThan(1_000);
    expect(skewed.proc.child.exitCode).toBeNull();
  }, SETTLE_MS * 2);
});
