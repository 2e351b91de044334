// The admin API over HTTPS: given the node's certificate and key it answers /health to a
// client that trusts the CA, refuses plain HTTP on that port, and rejects a bad key with
// FLO_CONFIG_INVALID before binding. `flotilla status --ca` and `flotilla members --ca`
// read it trusting that CA file (and only it) without NODE_EXTRA_CA_CERTS; a missing or
// non-PEM file is a usage error.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CaFileError, fetchTrusting, readCaFile } from '../../src/cli/admin-fetch.js';
import { runMembers } from '../../src/cli/members.js';
import { runStatus } from '../../src/cli/status.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource } from '../gateway/fixture.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';
import { runCliToEnd } from '../cli/cli-process.js';

let fx: TlsFixture;
let server: AdminServer | undefined;
beforeAll(() => {
  fx = makeTlsFixture();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => fx.remove());

/** Starts the admin API over HTTPS with the node's certificate; closed after the test. */
async function startHttpsAdmin(): Promise<AdminServer> {
  const { cert, key } = fx.material('node');
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } });
  return server;
}

/** The base URL of a fresh HTTPS admin API (see `startHttpsAdmin`). */
async function httpsAdminUrl(): Promise<string> {
  return `https://127.0.0.1:${(await startHttpsAdmin()).address().port}`;
}

function httpsGet(port: number, path: string, ca: string | Uint8Array): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca: String(ca), timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('admin API over HTTPS', () => {
  it('answers /health to a client trusting the CA', async () => {
    const admin = await startHttpsAdmin();
    expect(admin.protocol).toBe('https');
    const answer = await httpsGet(admin.address().port, '/health', fx.material('node').ca);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok', nodeId: 'n1' });
  });

  it('is refused by a client trusting another CA', async () => {
    const admin = await startHttpsAdmin();
    await expect(httpsGet(admin.address().port, '/health', fx.material('rogue', 'rogue-ca').ca)).rejects.toThrow(/certificate/);
  });

  it('does not answer plain HTTP on the HTTPS port', async () => {
    const port = (await startHttpsAdmin()).address().port;
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health', timeout: 15_000 }, (res) => resolve(`status ${res.statusCode ?? 0}`));
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
  });

  it('stays plain HTTP without tls', async () => {
    server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0 });
    expect(server.protocol).toBe('http');
  });

  it('rejects a key that does not match with FLO_CONFIG_INVALID', async () => {
    const { cert } = fx.material('node');
    const { key } = fx.material('rogue');
    await expect(startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } })).rejects.toMatchObject({
      code: 'FLO_CONFIG_INVALID',
      message: expect.stringMatching(/admin API TLS certificate or key/) as unknown as string,
    });
  });
});

describe('flotilla status and members with --ca', () => {
  it('reads an HTTPS admin API signed by that CA, for status and members', async () => {
    const url = await httpsAdminUrl();
    const fetch = fetchTrusting(readCaFile(fx.files('node').ca));
    const status = await runStatus({ url, token: TEST_ADMIN_TOKEN, json: true, fetch });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.output)).toMatchObject({ health: { nodeId: 'n1' } });
    const members = await runMembers({ url, token: TEST_ADMIN_TOKEN, format: 'json', fetch });
    expect(members.exitCode).toBe(0);
    expect(JSON.parse(members.output)).toEqual(new FixtureSource().membersReport.members);
  });

  it('passes the token and the answer status through (401 without the token)', async () => {
    const url = await httpsAdminUrl();
    const members = await runMembers({ url, format: 'json', fetch: fetchTrusting(readCaFile(fx.files('node').ca)) });
    expect(members.exitCode).toBe(1);
    expect(members.output).toMatch(/answered 401 FLO_UNAUTHORIZED/);
  });

  it('refuses a certificate that does not chain to that CA, as the global fetch refuses one outside its store', async () => {
    const url = await httpsAdminUrl();
    const rogue = await runMembers({ url, token: TEST_ADMIN_TOKEN, fetch: fetchTrusting(readCaFile(fx.files('rogue', 'rogue-ca').ca)) });
    expect(rogue.exitCode).toBe(1);
    expect(rogue.output).toMatch(/cannot reach .*: [A-Z_]*(CERT|SIGNATURE)[A-Z_]*/);
    const untrusted = await runMembers({ url, token: TEST_ADMIN_TOKEN });
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.output).toMatch(/cannot reach .*: [A-Z_]*(CERT|SIGNATURE)[A-Z_]*/);
  });

  it('gives up at the deadline on a peer that never answers the handshake', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const result = await runMembers({ url: `https://127.0.0.1:${port}`, timeoutMs: 300, fetch: fetchTrusting(readCaFile(fx.files('node').ca)) });
      expect(result.exitCode).toBe(1);
      expect(result.output).toMatch(/no answer within 300 ms/);
    } finally {
      silent.close();
    }
  });

  it('refuses a missing file, a file without a certificate, and says which', async () => {
    expect(() => readCaFile(join(fx.dir, 'no-such.pem'))).toThrow(CaFileError);
    expect(() => readCaFile(join(fx.dir, 'no-such.pem'))).toThrow(/cannot read it \(ENOENT\)/);
    const notPem = join(fx.dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    expect(() => readCaFile(notPem)).toThrow(/holds no PEM certificate/);
    const [status, members] = await Promise.all([
      runCliToEnd(['status', '--url', 'https://127.0.0.1:1', '--ca', notPem]),
      runCliToEnd(['members', '--url', 'https://127.0.0.1:1', '--ca', join(fx.dir, 'no-such.pem')]),
    ]);
    expect(status.code).toBe(2);
    expect(status.stderr).toEqual([`flotilla status: --ca ${notPem}: holds no PEM certificate`]);
    expect(members.code).toBe(2);
    expect(members.stderr).toEqual([`flotilla members: --ca ${join(fx.dir, 'no-such.pem')}: cannot read it (ENOENT)`]);
  });
});
