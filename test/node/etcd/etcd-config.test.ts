// etcd mode settings: endpoints normalised, the prefix derived from the cluster id, the
// keep-alive derived from the TTL, and every bad combination refused with FLO_CONFIG_INVALID.
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../../src/core/errors.js';
import { normalizeEndpoint, resolveEtcd, type EtcdOptions } from '../../../src/node/etcd/etcd-config.js';
import { parseEtcdEndpoints, UsageError } from '../../../src/cli/cli-options.js';

describe('resolveEtcd', () => {
  it('fills in the defaults: prefix from the cluster id, keep-alive a third of the TTL', () => {
    const { endpoints, config } = resolveEtcd({ endpoints: ['127.0.0.1:2379', 'http://127.0.0.1:2379', 'https://etcd.example:2379'] }, 'prod');
    expect(endpoints).toEqual(['http://127.0.0.1:2379', 'https://etcd.example:2379']);
    expect(config).toMatchObject({ prefix: '/flotilla/prod/', leaseTtlSec: 10, keepAliveIntervalMs: 3_333, detachMarginMs: 1_000, requestTimeoutMs: 2_000 });
  });

  it('keeps the default request deadline within a short TTL\'s keep-alive interval', () => {
    expect(resolveEtcd({ endpoints: ['a:1'], leaseTtlSec: 4 }, 'c').config).toMatchObject({ keepAliveIntervalMs: 1_333, requestTimeoutMs: 1_333 });
  });

  it.each<[string, EtcdOptions]>([
    ['no endpoints', { endpoints: [] }],
    ['a bad endpoint', { endpoints: ['not a host'] }],
    ['an endpoint without a port', { endpoints: ['http://etcd'] }],
    ['a prefix without a trailing slash', { endpoints: ['a:1'], prefix: '/x' }],
    ['a TTL under 2 s', { endpoints: ['a:1'], leaseTtlSec: 1 }],
    ['a fractional TTL', { endpoints: ['a:1'], leaseTtlSec: 2.5 }],
    ['keep-alives too sparse to miss one', { endpoints: ['a:1'], leaseTtlSec: 3, keepAliveIntervalMs: 1_500, detachMarginMs: 1_000 }],
    ['a request deadline past the keep-alive interval', { endpoints: ['a:1'], keepAliveIntervalMs: 1_000, requestTimeoutMs: 2_000 }],
    ['no lock concurrency', { endpoints: ['a:1'], lockConcurrencyMax: 0 }],
  ])('refuses %s with FLO_CONFIG_INVALID', (_name, options) => {
    expect(() => resolveEtcd(options, 'c')).toThrow(FlotillaError);
    try {
      resolveEtcd(options, 'c');
    } catch (error) {
      expect((error as FlotillaError).code).toBe('FLO_CONFIG_INVALID');
    }
  });

  it('normalises endpoints to scheme://host:port', () => {
    expect(normalizeEndpoint(' [::1]:2379 ')).toBe('http://[::1]:2379');
    expect(normalizeEndpoint('https://h:1/')).toBe('https://h:1');
  });

  it('parses --etcd lists and reports bad ones as usage errors', () => {
    expect(parseEtcdEndpoints('a:1, b:2')).toEqual(['http://a:1', 'http://b:2']);
    expect(() => parseEtcdEndpoints(',')).toThrow(UsageError);
    expect(() => parseEtcdEndpoints('ftp://a:1')).toThrow(UsageError);
  });
});
