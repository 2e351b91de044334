// Parsing of the flotilla command line: tag and seed lists, admin addresses, SWIM
// overrides, counts, and how `start` turns flags into node options.
import { describe, expect, it } from 'vitest';
import { parseCount, parseHttpAddress, parseKvOverrides, parseSeedList, parseSwimOverrides, parseTagList, UsageError } from '../../src/cli/cli-options.js';
import { planStart } from '../../src/cli/start-command.js';
import { DEV_ADMIN_TOKEN } from '../../src/gateway/index.js';
import { DEV_SECRET } from '../../src/node/index.js';

const SECRET = 'k3Jq9vX2mW8pL5tR7yB4nC6dF1gH0sZ+aE/uQwIoPx=';
const TOKEN = 'Tz8Ue1Rk4Wq7Yn2Lm5Ps9Vb3Xc6Hd0Jf+Ga/KiOjNl=';

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

describe('list and address flags', () => {
  it.each([
    ['zone=a,role=web', { zone: 'a', role: 'web' }],
    [' zone = a , ', { zone: 'a' }],
    ['', {}],
    ['url=http://x?a=b', { url: 'http://x?a=b' }],
  ])('--tags %j', (text, tags) => expect(parseTagList(text)).toEqual(tags));

  it.each([['zone'], ['=a'], ['a=1,a=2']])('--tags refuses %j', (text) => expect(usage(() => parseTagList(text))).toMatch(/--tags/));

  it('--tags keeps keys an object prototype has as plain tags', () => {
    const tags = parseTagList('constructor=a,__proto__=b');
    expect(Object.entries(tags)).toEqual([
      ['constructor', 'a'],
      ['__proto__', 'b'],
    ]);
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype);
  });

  it('--seeds splits and checks each address', () => {
    expect(parseSeedList('10.0.0.1:7946, seed.local:7946')).toEqual(['10.0.0.1:7946', 'seed.local:7946']);
    expect(usage(() => parseSeedList('10.0.0.1'))).toMatch(/seeds/);
  });

  it.each([
    ['8080', { host: '127.0.0.1', port: 8080 }],
    [':9000', { host: '127.0.0.1', port: 9000 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('--http %j', (text, address) => expect(parseHttpAddress(text)).toEqual(address));

  it.each([['eighty'], ['example.com:80'], ['127.0.0.1:70000']])('--http refuses %j', (text) => expect(usage(() => parseHttpAddress(text))).toMatch(/--http/));

  it('--kv takes the map store settings: numbers, and text that the node validates', () => {
    expect(parseKvOverrides('writeCopiesMin=2,backupMode=sync')).toEqual({ writeCopiesMin: 2, backupMode: 'sync' });
    expect(usage(() => parseKvOverrides('writeCopies=2'))).toMatch(/not a map store \(kv\) setting/);
    expect(usage(() => parseKvOverrides('writeCopiesMin=two'))).toMatch(/writeCopiesMin must be a number/);
  });

  it('--swim takes numbers and booleans of known settings', () => {
    expect(parseSwimOverrides('probeIntervalMs=200,tcpFallbackProbe=false')).toEqual({ probeIntervalMs: 200, tcpFallbackProbe: false });
    expect(usage(() => parseSwimOverrides('probeInterval=200'))).toMatch(/not a SWIM setting/);
    expect(usage(() => parseSwimOverrides('constructor=1'))).toMatch(/not a SWIM setting/);
    expect(usage(() => parseSwimOverrides('__proto__=1'))).toMatch(/not a SWIM setting/);
    expect(usage(() => parseSwimOverrides('probeIntervalMs=fast'))).toMatch(/number/);
    expect(usage(() => parseSwimOverrides('tcpFallbackProbe=yes'))).toMatch(/true or false/);
  });

  it('counts stay within their range', () => {
    expect(parseCount('3', '--nodes', 1, 16)).toBe(3);
    expect(usage(() => parseCount('0', '--nodes', 1, 16))).toMatch(/1\.\.16/);
    expect(usage(() => parseCount('2.5', '--nodes', 1, 16))).toMatch(/--nodes/);
  });
});

describe('planStart', () => {
  it('turns flags into node options', () => {
    const plan = planStart({
      listen: '127.0.0.1:0',
      seeds: '127.0.0.1:7000,127.0.0.1:7001',
      secret: SECRET,
      adminToken: TOKEN,
      adminHosts: 'node1.example, node1',
      tags: 'zone=a',
      logLevel: 'warn',
      nodeId: 'n1',
      clusterId: 'prod',
      swim: 'probeIntervalMs=2000',
      http: '9180',
      data: '/tmp/flotilla-n1',
    });
    expect(plan.options).toEqual({
      listen: '127.0.0.1:0',
      seeds: ['127.0.0.1:7000', '127.0.0.1:7001'],
      secret: SECRET,
      tags: { zone: 'a' },
      logLevel: 'warn',
      nodeId: 'n1',
      clusterId: 'prod',
      swim: { probeIntervalMs: 2000 },
      dataDir: '/tmp/flotilla-n1',
    });
    expect(plan.http).toEqual({ host: '127.0.0.1', port: 9180 });
    expect(plan.admin).toEqual({ token: TOKEN, devToken: false, allowedHosts: ['node1.example', 'node1'] });
  });

  it('gives a dev node without a token the public dev token, and a node without --http none', () => {
    expect(planStart({ dev: true, http: '0' }).admin).toEqual({ token: DEV_ADMIN_TOKEN, devToken: true, allowedHosts: [] });
    expect(planStart({ secret: SECRET }).admin).toBeUndefined();
  });

  it.each([
    [{ listen: '127.0.0.1:0' }, /secret is required/],
    [{ listen: 'nowhere', dev: true }, /listen/],
    [{ dev: true, logLevel: 'chatty' }, /--log-level/],
    [{ dev: true, swim: 'probeTimeoutMs=5000' }, /probeTimeoutMs/],
    [{ dev: true, tags: 'health=bad' }, /reserved/],
    [{ secret: 'a-long-enough-secret' }, /--secret \(FLOTILLA_SECRET\): the cluster secret is too short/],
    [{ secret: DEV_SECRET }, /public development value/],
    [{ secret: SECRET, http: '0' }, /--http needs an admin token/],
    [{ secret: SECRET, http: '0', adminToken: DEV_ADMIN_TOKEN }, /--admin-token \(FLOTILLA_ADMIN_TOKEN\): the admin token is the public development value/],
  ])('refuses %j with one line', (flags, message) => expect(usage(() => planStart(flags))).toMatch(message));
});
