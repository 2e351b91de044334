// The `flotilla start` flags for TLS (`--tls-cert`, `--tls-key`, `--tls-ca`, or their
// FLOTILLA_TLS_* variables) and PostgreSQL (`--postgres`, POSTGRES_URL): how they become
// node options, the one-line errors with exit status 2, and a TLS node serving HTTPS.
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTlsFlags, parsePostgresUrl, UsageError } from '../../src/cli/cli-options.js';
import { planStart } from '../../src/cli/start-command.js';
import { makeTlsFixture, type TlsFixture } from '../transport/tls-fixtures.js';
import { jsonLines, randomSecret, runCli, runCliToEnd } from './cli-process.js';
import { waitFor } from '../node/helpers.js';

let fx: TlsFixture;
beforeAll(() => {
  fx = makeTlsFixture();
});
afterAll(() => fx.remove());

const SECRET = { FLOTILLA_SECRET: randomSecret(), FLOTILLA_ADMIN_TOKEN: randomSecret() };

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

function tlsFlags(leaf: 'node' | 'rogue' = 'node'): { tlsCert: string; tlsKey: string; tlsCa: string } {
  const files = fx.files(leaf, leaf === 'node' ? 'ca' : 'rogue-ca');
  return { tlsCert: files.cert, tlsKey: files.key, tlsCa: files.ca };
}

describe('--tls-cert, --tls-key, --tls-ca', () => {
  it('load the files into the transport options and the plan', () => {
    const plan = planStart({ dev: true, ...tlsFlags() });
    expect(plan.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(plan.options.transport?.tls).toBe(plan.tls);
  });

  it('are off when absent or empty', () => {
    expect(planStart({ dev: true }).tls).toBeUndefined();
    expect(planStart({ dev: true, tlsCert: '', tlsKey: '', tlsCa: '' }).options.transport).toBeUndefined();
  });

  it.each([
    [{ tlsCert: 'c.pem' }, /--tls-key \(FLOTILLA_TLS_KEY\) and --tls-ca \(FLOTILLA_TLS_CA\) missing/],
    [{ tlsCert: 'c.pem', tlsKey: 'k.pem' }, /--tls-ca \(FLOTILLA_TLS_CA\) missing/],
    [{ tlsKey: 'k.pem', tlsCa: 'ca.pem' }, /--tls-cert \(FLOTILLA_TLS_CERT\) missing/],
  ])('go together: %j', (flags, message) => expect(usage(() => loadTlsFlags(flags))).toMatch(message));

  it('name the file at fault', () => {
    expect(usage(() => planStart({ dev: true, ...tlsFlags(), tlsCa: '/no/such/ca.pem' }))).toMatch(/TLS CA file \/no\/such\/ca\.pem: no such file/);
    const wrongKey = { ...tlsFlags(), tlsKey: fx.files('rogue').key };
    expect(usage(() => planStart({ dev: true, ...wrongKey }))).toContain(`${fx.files('rogue').key} is not the private key`);
  });
});

describe('--postgres', () => {
  it('becomes the node storage', () => {
    const url = 'postgres://flotilla:pw@db.internal:5432/flotilla';
    const plan = planStart({ dev: true, postgres: url });
    expect(plan.storage).toEqual({ kind: 'postgres', url });
    expect(plan.options.storage).toEqual({ kind: 'postgres', url });
    expect(planStart({ dev: true, postgres: '' }).storage).toBeUndefined();
  });

  it.each([
    ['postgresql://db/x', true],
    ['postgres:///flotilla?host=/var/run/postgresql', true],
    ['mysql://db/x', false],
    ['db.internal:5432', false],
    ['postgres:///flotilla', false],
  ])('%s accepted: %s', (url, ok) => {
    if (ok) expect(parsePostgresUrl(url)).toBe(url);
    else expect(usage(() => parsePostgresUrl(url))).toMatch(/^--postgres: /);
  });

  it('never echoes the password', () => {
    expect(usage(() => parsePostgresUrl('mysql://user:hunter2@db/x'))).not.toContain('hunter2');
  });
});

describe.concurrent('flotilla start with TLS, as a process', () => {
  it('exits 2 with one line naming a missing file', async () => {
    const result = await runCliToEnd(['start', '--listen', '127.0.0.1:0', '--tls-cert', '/no/such/cert.pem', '--tls-key', fx.files('node').key, '--tls-ca', fx.files('node').ca], SECRET);
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual(['flotilla start: Invalid configuration: TLS certificate file /no/such/cert.pem: no such file']);
  });

  it('reads the files from FLOTILLA_TLS_* and refuses an incomplete set', async () => {
    const result = await runCliToEnd(['start', '--listen', '127.0.0.1:0'], { ...SECRET, FLOTILLA_TLS_CERT: fx.files('node').cert });
    expect(result.code).toBe(2);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/--tls-key \(FLOTILLA_TLS_KEY\) and --tls-ca \(FLOTILLA_TLS_CA\) missing/);
  });

  it('exits 2 on a bad --postgres URL', async () => {
    const result = await runCliToEnd(['start', '--listen', '127.0.0.1:0', '--postgres', 'mysql://db/x'], SECRET);
    expect(result.code).toBe(2);
    expect(result.stderr).toEqual(['flotilla start: --postgres: expected a postgres:// or postgresql:// URL, got mysql://']);
  });

  it('serves the admin API over HTTPS, then leaves on SIGTERM', async () => {
    const f = fx.files('node');
    const proc = runCli(['start', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--node-id', 'tls-1'], {
      ...SECRET,
      FLOTILLA_TLS_CERT: f.cert,
      FLOTILLA_TLS_KEY: f.key,
      FLOTILLA_TLS_CA: f.ca,
    });
    try {
      let url: string | undefined;
      await waitFor(() => (url = jsonLines(proc.stdout).find((l) => l.msg === 'admin API listening')?.url as string | undefined) !== undefined, 'the admin API to listen', 60_000);
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(`${url!}/health`, { ca: fx.material('node').ca as string, timeout: 30_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end();
      });
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ nodeId: 'tls-1' });
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
  });
});

const POSTGRES_URL = process.env.FLOTILLA_TEST_POSTGRES_URL;
if (POSTGRES_URL === undefined) {
  console.warn('tls-flags.test.ts: FLOTILLA_TEST_POSTGRES_URL is unset; skipping flotilla start --postgres against a real database');
}

describe.skipIf(POSTGRES_URL === undefined)('flotilla start --postgres, as a process', () => {
  it('opens its storage in PostgreSQL (POSTGRES_URL), then leaves on SIGTERM', async () => {
    const proc = runCli(['start', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--node-id', 'pg-1'], { ...SECRET, POSTGRES_URL: POSTGRES_URL! });
    try {
      // The signal handlers are in place once the admin API listens.
      await waitFor(() => jsonLines(proc.stdout).some((l) => l.msg === 'admin API listening'), 'the node to start', 60_000);
      expect(jsonLines(proc.stdout).find((l) => l.msg === 'entity storage ready')).toMatchObject({ storage: 'postgres' });
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
  });
});
