// Operator-written addresses: what is accepted for listen, advertise and seeds, and the
// one-line reason for everything else.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { parseAdvertise, parseListen, parseSeed } from '../../src/node/listen-address.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a failure');
}

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:7946', { host: '127.0.0.1', port: 7946 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:7000', { host: '::1', port: 7000 }],
    [' 10.0.0.1:1 ', { host: '10.0.0.1', port: 1 }],
  ])('accepts %s', (text, parsed) => expect(parseListen(text)).toEqual(parsed));

  it.each([
    ['127.0.0.1', /expected "ip:port"/],
    ['localhost:7946', /IP address/],
    ['127.0.0.1:65536', /0\.\.65535/],
    ['127.0.0.1:-1', /0\.\.65535/],
    ['::1:7000', /expected "ip:port"/],
  ])('refuses %s', (text, message) => expect(reason(() => parseListen(text))).toMatch(message));
});

describe('parseAdvertise', () => {
  it.each([
    ['10.0.0.5', 7946, '10.0.0.5'],
    ['10.0.0.5:7946', 7946, '10.0.0.5'],
    ['node-1.internal', 0, 'node-1.internal'],
    ['::1', 7946, '::1'],
    ['[fd00::1]:7946', 7946, 'fd00::1'],
  ])('accepts %s', (text, port, host) => expect(parseAdvertise(text, port)).toBe(host));

  it.each([
    ['10.0.0.5:7000', 7946, /listening port \(7946\)/],
    ['10.0.0.5:7000', 0, /give only the host/],
    ['', 7946, /expected a host/],
    ['http://x', 7946, /port must be/],
    ['bad host', 7946, /neither an IP address nor a DNS name/],
  ])('refuses %s', (text, port, message) => expect(reason(() => parseAdvertise(text, port))).toMatch(message));
});

describe('parseSeed', () => {
  it.each(['10.0.0.1:7946', 'seed.example.com:7946', '[::1]:7946'])('accepts %s', (text) => expect(parseSeed(text)).toBe(text));

  it.each([
    ['10.0.0.1', /host:port/],
    ['10.0.0.1:0', /1\.\.65535/],
    ['-bad-:7946', /neither an IP/],
  ])('refuses %s', (text, message) => expect(reason(() => parseSeed(text))).toMatch(message));
});
