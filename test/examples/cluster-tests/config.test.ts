// The runner's environment parsing: defaults inside and outside a container, cluster
// addresses by host name, and every bad value refused with FLO_CONFIG_INVALID.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../../src/core/errors.js';
import { loadRunnerConfig, parseHostPort, sqlitePath } from '../../../examples/cluster-tests/src/config.js';
import { DEV_ADMIN_TOKEN } from '../../../src/gateway/index.js';


describe('loadRunnerConfig', () => {
  it('defaults outside a container', () => {
    const config = loadRunnerConfig({}, false);
    expect(config).toMatchObject({
      http: { host: '127.0.0.1', port: 8080 },
      httpAdvertise: '127.0.0.1:8080',
      clusterListen: '127.0.0.1:7946',
      clusterAdvertise: undefined,
      seeds: [],
      postgresUrl: undefined,
      logLevel: 'info',
      secret: undefined,
      dataDir: '.flotilla-dev',
      passivateAfterMs: undefined,
    });
    expect(sqlitePath(config)).toBe('.flotilla-dev/flotilla.db');
  });

  it('listens on every interface in a container and advertises the runner host', () => {
    const config = loadRunnerConfig({ RUNNER_ADDRESS: 'runner-2:7946', SEEDS: 'runner-1:7946, runner-3:7946' }, true);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.httpAdvertise).toBe('runner-2:8080');
    expect(config.clusterListen).toBe('0.0.0.0:7946');
    expect(config.clusterAdvertise).toBe('runner-2');
    expect(config.seeds).toEqual(['runner-1:7946', 'runner-3:7946']);
  });

  it('reads every variable', () => {
    const config = loadRunnerConfig(
      {
        LISTEN_ADDR: '127.0.0.1:9000',
        RUNNER_ADDRESS: '127.0.0.1:7001',
        POSTGRES_URL: 'postgres://u:p@db/flotilla',
        ETCD_ENDPOINTS: 'a:2379,b:2379',
        LOG_LEVEL: 'debug',
        FLOTILLA_SECRET: 'a-secret-of-enough-length',
        DATA_DIR: '/tmp/x',
        NODE_ID: 'r1',
        ENTITY_PASSIVATE_AFTER_MS: '500',
        REQUEST_TIMEOUT_MS: '1000',
        SWIM_OVERRIDES: 'probeIntervalMs=500, suspicionMult=2',
      },
      false,
    );
    expect(config).toMatchObject({
      http: { host: '127.0.0.1', port: 9000 },
      clusterListen: '127.0.0.1:7001',
      postgresUrl: 'postgres://u:p@db/flotilla',
      etcdEndpoints: ['a:2379', 'b:2379'],
      etcdLeaseTtlSec: undefined,
      etcdPrefix: undefined,
      logLevel: 'debug',
      secret: 'a-secret-of-enough-length',
      dataDir: '/tmp/x',
      nodeId: 'r1',
      passivateAfterMs: 500,
      requestTimeoutMs: 1000,
      swim: { probeIntervalMs: 500, suspicionMult: 2 },
    });
  });

  it('gives the admin API a token: FLOTILLA_ADMIN_TOKEN, or the dev token in dev mode; a secret without one is refused', () => {
    expect(loadRunnerConfig({ ADMIN_ADDR: '127.0.0.1:9080' }, false).adminToken).toBe(DEV_ADMIN_TOKEN);
    expect(loadRunnerConfig({ ADMIN_ADDR: '127.0.0.1:9080', FLOTILLA_ADMIN_TOKEN: 'given-token' }, false).adminToken).toBe('given-token');
    expect(loadRunnerConfig({ FLOTILLA_SECRET: 'a-secret-of-enough-length' }, false).adminToken).toBeUndefined();
    expect(() => loadRunnerConfig({ ADMIN_ADDR: '127.0.0.1:9080', FLOTILLA_SECRET: 'a-secret-of-enough-length' }, false)).toThrow(/FLOTILLA_ADMIN_TOKEN/);
  });

  it.each([
    ['LISTEN_ADDR', { LISTEN_ADDR: '8080' }],
    ['LISTEN_ADDR', { LISTEN_ADDR: 'host:99999' }],
    ['RUNNER_ADDRESS', { RUNNER_ADDRESS: '0.0.0.0:7946' }],
    ['SEEDS', { SEEDS: 'a:1,nope' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['POSTGRES_URL', { POSTGRES_URL: 'mysql://x' }],
    ['ENTITY_PASSIVATE_AFTER_MS', { ENTITY_PASSIVATE_AFTER_MS: '-1' }],
    ['REQUEST_TIMEOUT_MS', { REQUEST_TIMEOUT_MS: '1.5' }],
    ['SWIM_OVERRIDES', { SWIM_OVERRIDES: 'probeIntervalMs' }],
    ['SWIM_OVERRIDES', { SWIM_OVERRIDES: 'a=b' }],
  ])('refuses a bad %s', (variable, env) => {
    let caught: unknown;
    try {
      loadRunnerConfig(env, false);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(variable);
  });

  it.each([
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['runner-1:7946', { host: 'runner-1', port: 7946 }],
  ])('parses %s', (text, expected) => {
    expect(parseHostPort('X', text)).toEqual(expected);
  });
});
