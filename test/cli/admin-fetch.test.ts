// `flotilla status --ca` and `flotilla members --ca`: against an admin API on HTTPS signed by
// the cluster's own CA, the commands trust that CA file (and only it) without
// NODE_EXTRA_CA_CERTS; a missing or non-PEM file is a usage error.
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CaFileError, fetchTrusting, readCaFile } from '../../src/cli/admin-fetch.js';
import { runMembers } from '../../src/cli/members.js';
import { runStatus } from '../../src/cli/status.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource } from '../gateway/fixture.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';
import { makeTlsFixture, type TlsFixture } from '../transport/tls-fixtures.js';
import { runCliToEnd } from './cli-process.js';

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

async function httpsAdmin(): Promise<string> {
  const { cert, key } = fx.material('node');
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source: new FixtureSource(), host: '127.0.0.1', port: 0, tls: { cert, key } });
  return `https://127.0.0.1:${server.address().port}`;
}

describe('a fetch trusting the --ca file', () => {
  it('reads an HTTPS admin API signed by that CA, for status and members', async () => {
    const url = await httpsAdmin();
    const fetch = fetchTrusting(readCaFile(fx.files('node').ca));
    const status = await runStatus({ url, token: TEST_ADMIN_TOKEN, json: true, fetch });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.output)).toMatchObject({ health: { nodeId: 'n1' } });
    const members = await runMembers({ url, token: TEST_ADMIN_TOKEN, format: 'json', fetch });
    expect(members.exitCode).toBe(0);
    expect(JSON.parse(members.output)).toEqual(new FixtureSource().membersReport.members);
  });

  it('passes the token and the answer status through (401 without the token)', async () => {
    const url = await httpsAdmin();
    const members = await runMembers({ url, format: 'json', fetch: fetchTrusting(readCaFile(fx.files('node').ca)) });
    expect(members.exitCode).toBe(1);
    expect(members.output).toMatch(/answered 401 FLO_UNAUTHORIZED/);
  });

  it('refuses a certificate that does not chain to that CA, as the global fetch refuses one outside its store', async () => {
    const url = await httpsAdmin();
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
