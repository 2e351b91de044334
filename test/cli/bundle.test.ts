// The bundled `flotilla` command (what `npm run build` writes to dist/cli and the package's
// bin runs): built here from the current sources into a fresh directory, then run as real
// processes: two nodes form a cluster, `status` reads it through the bundle's own chunk,
// the client gateway (the bundled Fastify with the external WebSocket plugin) authenticates
// a client, a bad flag is still a usage error, and SIGTERM is still a graceful leave.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { bundleCli } from '../../build/bundle-cli.js';
import { freeClusterPort } from '../../src/cli/dev-command.js';
import type { MembersReport } from '../../src/gateway/admin-source.js';
import { decodeServerFrame, encodeClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';
import { makeTlsFixture, type TlsFixture } from '../transport/tls-fixtures.js';
import { jsonLines, pollUntil, randomSecret, type CliProcess } from './cli-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENV = { FLOTILLA_SECRET: randomSecret(), FLOTILLA_ADMIN_TOKEN: randomSecret(), LOG_LEVEL: 'info' };
const JWT_SECRET = randomSecret();
const FAST = 'probeIntervalMs=200,probeTimeoutMs=100,gossipIntervalMs=50,suspicionMult=2,joinBackoffInitialMs=50,joinBackoffMaxMs=500,leaveTimeoutMs=2000';

// Inside the checkout, so that the packages left external resolve from its node_modules
// exactly as they do from dist/cli.
let outdir = '';
let entry = '';
let tls: TlsFixture | undefined;

function runBundle(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [entry, ...args], { cwd: ROOT, env: { ...process.env, ...ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, stdout, stderr, exited };
}

async function runToEnd(args: readonly string[]): Promise<{ code: number | string; stdout: string[]; stderr: string[] }> {
  const run = runBundle(args);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

const loggedUrl = (proc: CliProcess, msg: string): string | undefined => {
  const url = jsonLines(proc.stdout).find((l) => l.msg === msg)?.url;
  return typeof url === 'string' ? url : undefined;
};
const adminUrl = (proc: CliProcess): string | undefined => loggedUrl(proc, 'admin API listening');

/** Opens a client connection to `url` and sends a fresh token; resolves with the gateway's answer (after its AUTH_REQUIRED greeting). */
async function authenticate(url: string): Promise<ServerFrame> {
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('test').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
  const ws = new WebSocket(url);
  const frames: ServerFrame[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data), 1 << 24)));
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(encodeClientFrame({ type: 'AUTH', token }));
    const answer = (): ServerFrame | undefined => frames.find((f) => f.type !== 'AUTH_REQUIRED');
    await pollUntil(() => answer() !== undefined, 'the answer to AUTH', 10_000);
    return answer()!;
  } finally {
    ws.terminate();
  }
}

describe('the bundled flotilla command', () => {
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    outdir = mkdtempSync(join(ROOT, 'dist', 'bundle-test-'));
    await bundleCli(outdir);
    entry = join(outdir, 'flotilla.js');
    tls = makeTlsFixture();
  });

  afterAll(async () => {
    for (const proc of procs) proc.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    rmSync(outdir, { recursive: true, force: true });
    tls?.remove();
  });

  it('splits at the lazy imports and maps back to the sources', () => {
    const chunks = readdirSync(join(outdir, 'chunks'));
    // Each command's module loads only when it runs: the split must survive bundling.
    for (const lazy of ['program', 'start-command', 'dev-command', 'status', 'client-gateway']) {
      expect(chunks.some((name) => name.startsWith(`${lazy}-`) && name.endsWith('.js')), lazy).toBe(true);
    }
    const map = JSON.parse(readFileSync(`${entry}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources.some((s) => s.endsWith('src/cli/main.ts'))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  it('loads Node builtins through require, and the HTTP/2 and HTTPS modules only on use', () => {
    const files = [entry, ...readdirSync(join(outdir, 'chunks')).filter((n) => n.endsWith('.js')).map((n) => join(outdir, 'chunks', n))];
    const texts = files.map((f) => readFileSync(f, 'utf8'));
    // An ES module import of a builtin reads all its exports, running getters such as
    // tls.rootCertificates; only the banner's `node:module` may be imported that way.
    const esmBuiltins = texts.flatMap((t) => [...t.matchAll(/(?:from\s*|import\s*\(\s*|import\s*)["'](node:[\w/]+)["']/g)].map((m) => m[1]));
    expect(esmBuiltins.length).toBeGreaterThan(0);
    expect(new Set(esmBuiltins)).toEqual(new Set(['node:module']));
    const fastifyServer = texts.find((t) => t.includes('http2.createSecureServer'));
    expect(fastifyServer).toBeDefined();
    expect(fastifyServer).toMatch(/http2Module\s*\?\?=/);
    expect(fastifyServer).not.toMatch(/\bhttp2\s*=\s*__require\("node:http2"\)/);
  });

  it('prints its help and rejects a bad flag as a usage error', async () => {
    const help = await runToEnd(['start', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.join('\n')).toContain('--optimize-for');
    const bad = await runToEnd(['start', '--optimize-for', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toHaveLength(1);
    expect(bad.stderr[0]).toMatch(/^flotilla start: .*--optimize-for/);
  });

  it('runs a two-node cluster over mutual TLS that status reports, and leaves on SIGTERM', async () => {
    // TLS is loaded on first use in the bundle (not imported): the cluster must still form
    // over it, and the admin API, given the certificate too, answers over HTTPS.
    const files = tls!.files('node');
    const tlsFlags = ['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', files.ca];
    const first = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
    const second = `127.0.0.1:${await freeClusterPort('127.0.0.1')}`;
    const start = (name: string, listen: string, optimizeFor: string, extra: readonly string[] = []): CliProcess =>
      runBundle(['start', '--node-id', name, '--listen', listen, '--seeds', first, '--http', '127.0.0.1:0', '--swim', FAST, ...tlsFlags, ...extra], { FLOTILLA_OPTIMIZE_FOR: optimizeFor, FLOTILLA_JWT_SECRET: JWT_SECRET });
    // Both lean profiles apply their V8 flags before the program's chunks load.
    const a = start('b1', first, 'memory', ['--client', '127.0.0.1:0']);
    const b = start('b2', second, 'auto');
    procs.push(a, b);
    await pollUntil(() => adminUrl(a) !== undefined, 'the admin API of b1', 30_000, () => a.stderr.join('\n'));
    const url = adminUrl(a)!;
    expect(url).toMatch(/^https:/);
    let report: MembersReport | undefined;
    await pollUntil(
      async () => {
        const status = await runToEnd(['status', '--url', url, '--json', '--token', ENV.FLOTILLA_ADMIN_TOKEN, '--ca', files.ca]);
        if (status.code !== 0) return false;
        report = (JSON.parse(status.stdout.join('\n')) as { members: MembersReport }).members;
        return report.members.filter((m) => m.state === 'alive').length === 2;
      },
      'two alive members in the status of the bundle',
      30_000,
      () => JSON.stringify(report),
    );
    expect(report!.members.map((m) => m.nodeId).sort()).toEqual(['b1', 'b2']);
    await pollUntil(() => loggedUrl(a, 'client gateway listening') !== undefined, 'the client gateway of b1', 30_000, () => a.stderr.join('\n'));
    expect((await authenticate(loggedUrl(a, 'client gateway listening')!)).type).toBe('AUTH_ACK');
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(jsonLines(b.stdout).some((l) => l.msg === 'left the cluster')).toBe(true);
  }, 60_000);
});
