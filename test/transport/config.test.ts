import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig, type TransportConfig } from '../../src/transport/config.js';
import { isFlotillaError } from '../../src/core/errors.js';
import { TCP_FRAME_BYTES_MAX, UDP_DATAGRAM_BUDGET_BYTES } from '../../src/protocol/index.js';

describe('resolveTransportConfig', () => {
  it('accepts the defaults and fills them in', () => {
    expect(resolveTransportConfig()).toEqual(DEFAULT_TRANSPORT_CONFIG);
    expect(DEFAULT_TRANSPORT_CONFIG.poolConnectionsMax).toBe(50);
    expect(DEFAULT_TRANSPORT_CONFIG.idleTimeoutMs).toBe(60_000);
    expect(DEFAULT_TRANSPORT_CONFIG.udpDatagramBudgetBytes).toBe(UDP_DATAGRAM_BUDGET_BYTES);
    expect(DEFAULT_TRANSPORT_CONFIG.frameBytesMax).toBe(TCP_FRAME_BYTES_MAX);
  });

  it('ignores fields given as undefined', () => {
    expect(resolveTransportConfig({ poolConnectionsMax: undefined }).poolConnectionsMax).toBe(50);
  });

  const bad: [string, Partial<TransportConfig>][] = [
    ['non-integer size', { frameBytesMax: 1.5 }],
    ['zero pool', { poolConnectionsMax: 0 }],
    ['negative timeout', { connectTimeoutMs: -1 }],
    ['hostname instead of IP', { host: 'localhost' }],
    ['port out of range', { port: 70_000 }],
    ['wildcard without advertiseHost', { host: '0.0.0.0' }],
    ['datagram budget too small', { udpDatagramBudgetBytes: 100 }],
    ['datagram budget too large', { udpDatagramBudgetBytes: 70_000 }],
    ['write buffer below one frame', { frameBytesMax: 1024, writeBufferBytesMax: 1024 }],
    ['read idle not above pool idle', { idleTimeoutMs: 1000, readIdleTimeoutMs: 1000 }],
    ['handshake longer than read idle', { idleTimeoutMs: 10, readIdleTimeoutMs: 100, handshakeTimeoutMs: 200 }],
    ['auth key shorter than 16 bytes', { authKey: new Uint8Array(15) }],
    ['auth key that is not bytes', { authKey: 'secret' as unknown as Uint8Array }],
  ];
  it.each(bad)('rejects %s with FLO_CONFIG_INVALID', (_name, partial) => {
    let caught: unknown;
    try {
      resolveTransportConfig(partial);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'FLO_CONFIG_INVALID')).toBe(true);
  });

  it('accepts an auth key of 16 bytes or more, and none by default', () => {
    expect(DEFAULT_TRANSPORT_CONFIG.authKey).toBeUndefined();
    expect(resolveTransportConfig({ authKey: new Uint8Array(16) }).authKey).toHaveLength(16);
  });

  it('accepts a wildcard host with advertiseHost', () => {
    expect(resolveTransportConfig({ host: '0.0.0.0', advertiseHost: '10.0.0.5' }).advertiseHost).toBe('10.0.0.5');
  });
});
