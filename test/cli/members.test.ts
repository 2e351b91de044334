// `flotilla members` against a real admin server backed by the gateway's fixture source:
// the tag and state filters reach the server, the three output formats, and failures as
// one line with exit code 1; the flag merging that turns repeated --tag into one filter.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-options.js';
import { mergeTagFlags } from '../../src/cli/members-command.js';
import { membersPath, runMembers } from '../../src/cli/members.js';
import { startAdminServer, type AdminServer } from '../../src/gateway/index.js';
import { FixtureSource, fixtureMembers } from '../gateway/fixture.js';
import { TEST_ADMIN_TOKEN } from '../gateway/http-helpers.js';

const source = new FixtureSource();
let server: AdminServer;
let url: string;

beforeAll(async () => {
  server = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0 });
  url = `http://127.0.0.1:${server.address().port}`;
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  source.membersReport = fixtureMembers();
  source.failing = undefined;
});

describe('runMembers', () => {
  it('lists only the members carrying the tags, as a table with the master marked', async () => {
    const result = await runMembers({ url, token: TEST_ADMIN_TOKEN, tags: { zone: 'b' } });
    expect(result.exitCode).toBe(0);
    expect(result.output.split('\n')).toEqual(['NODE  ADDRESS         STATE  TAGS', 'n2    127.0.0.1:7002  alive  role=web,zone=b']);
  });

  it('prints addresses one a line, filtered by state too', async () => {
    const result = await runMembers({ url, token: TEST_ADMIN_TOKEN, state: 'alive', format: 'addresses' });
    expect(result).toEqual({ exitCode: 0, output: '127.0.0.1:7001\n127.0.0.1:7002' });
  });

  it('prints a JSON array of the matching members', async () => {
    const result = await runMembers({ url, token: TEST_ADMIN_TOKEN, tags: { zone: 'a' }, format: 'json' });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.output)).toEqual([fixtureMembers().members[0]]);
  });

  it('answers an empty list (exit 0) when no member matches', async () => {
    const result = await runMembers({ url, token: TEST_ADMIN_TOKEN, tags: { role: 'worker' }, format: 'addresses' });
    expect(result).toEqual({ exitCode: 0, output: '' });
  });

  it('fails in one line without the token', async () => {
    const result = await runMembers({ url, tags: { zone: 'a' } });
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/^flotilla members: .*401/);
    expect(result.output).not.toContain('\n');
  });

  it('fails in one line when nothing listens', async () => {
    const closed = await startAdminServer({ token: TEST_ADMIN_TOKEN, source, port: 0 });
    const port = closed.address().port;
    await closed.close();
    const result = await runMembers({ url: `http://127.0.0.1:${port}`, token: TEST_ADMIN_TOKEN });
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/^flotilla members: cannot reach .*ECONNREFUSED$/);
  });
});

describe('membersPath', () => {
  it.each([
    [{}, undefined, 'cluster/members'],
    [{ role: 'worker' }, undefined, 'cluster/members?tag=role%3Dworker'],
    [{ role: 'worker', available: 'true' }, 'alive', 'cluster/members?tag=role%3Dworker&tag=available%3Dtrue&state=alive'],
  ] as const)('%j %s -> %s', (tags, state, path) => {
    expect(membersPath(tags, state)).toBe(path);
  });
});

describe('mergeTagFlags', () => {
  it('merges repeated and comma-separated --tag values', () => {
    expect(mergeTagFlags(['role=worker', 'zone=a,available=true'])).toEqual({ role: 'worker', zone: 'a', available: 'true' });
  });

  it.each([[['role']], [['=x']], [['role=a', 'role=b']]])('refuses %j as a usage error', (values) => {
    expect(() => mergeTagFlags(values)).toThrow(UsageError);
  });
});
