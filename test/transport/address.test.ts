import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from '../../src/transport/address.js';
import { isFlotillaError } from '../../src/core/errors.js';

describe('parseAddress', () => {
  const valid: [string, string, number][] = [
    ['127.0.0.1:7946', '127.0.0.1', 7946],
    ['localhost:1', 'localhost', 1],
    ['[::1]:65535', '::1', 65535],
    ['node-3.cluster.local:8080', 'node-3.cluster.local', 8080],
  ];
  it.each(valid)('parses %s', (address, host, port) => {
    expect(parseAddress(address)).toEqual({ host, port });
    expect(formatAddress(host, port)).toBe(address);
  });

  const invalid = ['', '127.0.0.1', ':80', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:8x', '::1:80', '[::1]80', 'a:-1', `${'a'.repeat(300)}:1`];
  it.each(invalid)('rejects %j with FLO_INVALID_ARGUMENT', (address) => {
    let caught: unknown;
    try {
      parseAddress(address);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_INVALID_ARGUMENT')).toBe(true);
  });
});
