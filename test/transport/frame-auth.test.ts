// The frame key and the datagram tag: the key is HKDF-SHA256 as RFC 5869 defines it
// (checked against a hand-rolled HKDF), it differs per secret and per cluster, and a
// sealed datagram opens only with the same key and only when not a single bit changed.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import {
  DATAGRAM_TAG_BYTES,
  DatagramAuthenticator,
  deriveFrameAuthKey,
  FRAME_AUTH_INFO,
  FRAME_AUTH_KEY_BYTES,
  handshakeProof,
  macsEqual,
} from '../../src/transport/frame-auth.js';

/** RFC 5869 HKDF-SHA256 for one output block, written out from the definition. */
function rfc5869(ikm: string, salt: string, info: string): Buffer {
  const prk = createHmac('sha256', Buffer.from(salt, 'utf8')).update(Buffer.from(ikm, 'utf8')).digest();
  return createHmac('sha256', prk).update(Buffer.from(info, 'utf8')).update(Buffer.from([1])).digest();
}

describe('deriveFrameAuthKey', () => {
  const cases: [string, string][] = [
    ['a-long-cluster-secret-0123', 'flotilla'],
    ['a-long-cluster-secret-0123', 'prod'],
    ['another-secret-entirely-456', 'flotilla'],
    ['ünïcödé-secret-✓-0123456789', 'cluster/ü'],
  ];
  it.each(cases)('is HKDF-SHA256(secret %j, salt = cluster id %j, the frames label)', (secret, clusterId) => {
    const key = deriveFrameAuthKey(secret, clusterId);
    expect(key.length).toBe(FRAME_AUTH_KEY_BYTES);
    expect(Buffer.from(key).equals(rfc5869(secret, clusterId, FRAME_AUTH_INFO))).toBe(true);
  });

  it('gives a different key for another secret or another cluster id', () => {
    const keys = cases.map(([secret, clusterId]) => Buffer.from(deriveFrameAuthKey(secret, clusterId)).toString('hex'));
    expect(new Set(keys).size).toBe(cases.length);
  });

  it('refuses an empty secret', () => {
    let err: unknown;
    try {
      deriveFrameAuthKey('', 'flotilla');
    } catch (caught) {
      err = caught;
    }
    expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
  });
});

describe('DatagramAuthenticator', () => {
  const auth = new DatagramAuthenticator(deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla'));
  const other = new DatagramAuthenticator(deriveFrameAuthKey('another-secret-entirely-456', 'flotilla'));
  const otherCluster = new DatagramAuthenticator(deriveFrameAuthKey('a-long-cluster-secret-0123', 'prod'));

  it('appends a tag of DATAGRAM_TAG_BYTES and opens what it sealed', () => {
    const bytes = Uint8Array.from([0xf1, 1, 2, 3]);
    const sealed = auth.seal(bytes);
    expect(sealed.length).toBe(bytes.length + DATAGRAM_TAG_BYTES);
    expect(Array.from(sealed.subarray(0, bytes.length))).toEqual(Array.from(bytes));
    expect(Array.from(auth.open(sealed) ?? [])).toEqual(Array.from(bytes));
  });

  const refused: [string, () => Uint8Array][] = [
    ['sealed with another secret', () => other.seal(Uint8Array.from([0xf1, 1, 2, 3]))],
    ['sealed for another cluster', () => otherCluster.seal(Uint8Array.from([0xf1, 1, 2, 3]))],
    ['bare (no tag)', () => Uint8Array.from([0xf1, 1, 2, 3])],
    ['only a tag', () => auth.seal(new Uint8Array(0))],
    ['empty', () => new Uint8Array(0)],
    ['cut short by one byte', () => auth.seal(Uint8Array.from([0xf1, 1, 2, 3])).subarray(0, 19)],
    ['with a byte appended', () => Buffer.concat([auth.seal(Uint8Array.from([0xf1, 1, 2, 3])), Buffer.from([0])])],
  ];
  it.each(refused)('refuses a datagram %s', (_name, make) => {
    expect(auth.open(make())).toBeUndefined();
  });

  it('refuses any datagram with one bit flipped, in the message or in the tag', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (bytes, at, bit) => {
        const sealed = auth.seal(bytes);
        expect(Array.from(auth.open(sealed) ?? [])).toEqual(Array.from(bytes));
        const index = at % sealed.length;
        sealed[index] = sealed[index]! ^ (1 << bit);
        expect(auth.open(sealed)).toBeUndefined();
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('handshakeProof', () => {
  const key = deriveFrameAuthKey('a-long-cluster-secret-0123', 'flotilla');
  const hello = Uint8Array.from([1, 2, 3]);
  const nonce = new Uint8Array(16).fill(9);
  const base = handshakeProof(key, 'dialer', hello, nonce, new Uint8Array(0));

  const variants: [string, Buffer][] = [
    ['the other role', handshakeProof(key, 'listener', hello, nonce, new Uint8Array(0))],
    ['another hello', handshakeProof(key, 'dialer', Uint8Array.from([1, 2, 4]), nonce, new Uint8Array(0))],
    ['another listener nonce', handshakeProof(key, 'dialer', hello, new Uint8Array(16).fill(8), new Uint8Array(0))],
    ['a TLS channel binding', handshakeProof(key, 'dialer', hello, nonce, new Uint8Array(32).fill(1))],
    ['another key', handshakeProof(deriveFrameAuthKey('another-secret-entirely-456', 'flotilla'), 'dialer', hello, nonce, new Uint8Array(0))],
  ];
  it.each(variants)('changes with %s', (_name, proof) => {
    expect(macsEqual(base, proof)).toBe(false);
  });

  it('is the same for the same inputs, and macsEqual refuses other lengths', () => {
    expect(macsEqual(base, handshakeProof(key, 'dialer', hello, nonce, new Uint8Array(0)))).toBe(true);
    expect(macsEqual(base, base.subarray(0, 31))).toBe(false);
  });
});
