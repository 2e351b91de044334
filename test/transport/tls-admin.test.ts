// The admin API over HTTPS: given the node's certificate and key it answers /health to a
// client that trusts the CA, refuses plain HTTP on that port, and rejects a bad key with
// FLO_CONFIG_INVALID before binding.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource } from '../gateway/fixture.js';
import { makeTlsFixture, type TlsFixture } from './tls-fixtures.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';

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
    const { cert, key, ca } = fx.material('node');
    server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } });
    expect(server.protocol).toBe('https');
    const answer = await httpsGet(server.address().port, '/health', ca);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok', nodeId: 'n1' });
  });

  it('is refused by a client trusting another CA', async () => {
    const { cert, key } = fx.material('node');
    server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } });
    await expect(httpsGet(server.address().port, '/health', fx.material('rogue', 'rogue-ca').ca)).rejects.toThrow(/certificate/);
  });

  it('does not answer plain HTTP on the HTTPS port', async () => {
    const { cert, key } = fx.material('node');
    server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } });
    const port = server.address().port;
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
